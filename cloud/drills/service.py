"""Drills: a supervisor puts a device in drill mode; its next alarm runs end to end (console, ladder,
guardian texts marked 【演练】) as a drill incident, kept out of the report figures. Functions flush."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.drills.models import DrillRecord
from cloud.errors import InvalidInput
from cloud.incidents.models import Incident
from cloud.registry.models import Device
from cloud.registry.scope import street_of_subject
from cloud.timeline.entries import add_entry


async def start_drill(
    *,
    session: AsyncSession,
    device_id: str,
    streets: frozenset[int] | None,
    by: str,
    minutes: int,
    now_ms: int,
) -> DrillRecord:
    device = await session.get(Device, device_id)
    if device is None:
        raise InvalidInput("no such device", field="device_id")
    street = await street_of_subject(session=session, subject_id=device.subject_id)
    if streets is not None and street not in streets:
        raise InvalidInput("no such device", field="device_id")
    record = DrillRecord(
        device_id=device_id, started_by=by, started_at=now_ms, expires_at=now_ms + minutes * 60_000
    )
    session.add(record)
    await session.flush()
    return record


async def claim_for(*, session: AsyncSession, incident: Incident, now_ms: int) -> DrillRecord | None:
    """Mark a new incident as a drill if its device is in drill mode (each drill takes one incident)."""
    record = await session.scalar(
        select(DrillRecord)
        .where(
            DrillRecord.device_id == incident.device_id,
            DrillRecord.incident_id.is_(None),
            DrillRecord.expires_at > now_ms,
        )
        .order_by(DrillRecord.id)
        .limit(1)
        .with_for_update()
    )
    if record is None:
        return None
    record.incident_id = incident.id
    incident.drill = True
    add_entry(session, incident.id, at=now_ms, type_="drill", actor=record.started_by, drill_id=record.id)
    await session.flush()
    return record


async def list_drills(*, session: AsyncSession, limit: int = 100) -> list[DrillRecord]:
    return list(
        (await session.scalars(select(DrillRecord).order_by(DrillRecord.id.desc()).limit(limit))).all()
    )
