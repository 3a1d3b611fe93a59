"""Intake, the use case behind ``POST /api/v1/intake/events``: store each edge event exactly once by
key, then open, join or cancel an incident; text the guardians when it is (or becomes) urgent, and
tell the device when its cancel closed the alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.commands import feedback
from cloud.errors import InvalidInput
from cloud.incidents import fusion
from cloud.incidents import service as incidents
from cloud.incidents.lifecycle import IncidentKind
from cloud.incidents.models import Incident
from cloud.intake.models import EventRecord
from cloud.notify.service import queue_guardian_alerts
from cloud.registry.models import Device, Subject
from cloud.timeline.entries import SYSTEM_ACTOR, add_entry
from contracts.intake import EdgeEvent, EventKind


@dataclass(frozen=True, slots=True)
class Ingested:
    key: str
    incident: Incident | None
    duplicate: bool
    created: bool = False
    changed: bool = False
    notifications: int = 0

    @property
    def incident_id(self) -> str:
        return str(self.incident.id) if self.incident is not None else ""


async def find_event(*, session: AsyncSession, key: str) -> EventRecord | None:
    return await session.scalar(select(EventRecord).where(EventRecord.key == key))


async def duplicate_of(*, session: AsyncSession, record: EventRecord) -> Ingested:
    incident = await session.get(Incident, record.incident_id) if record.incident_id is not None else None
    return Ingested(key=record.key, incident=incident, duplicate=True)


async def _cancel_target(session: AsyncSession, event: EdgeEvent, device: Device) -> Incident | None:
    """The incident a cancel refers to: the one ``ref_key`` opened or joined, else the open SOS/fall."""
    if event.ref_key:
        ref = await find_event(session=session, key=event.ref_key)
        if ref is not None and ref.incident_id is not None:
            return await session.get(Incident, ref.incident_id, with_for_update=True)
    for kind in (IncidentKind.SOS, IncidentKind.FALL):
        incident = await fusion.find_open(session=session, subject_id=device.subject_id, kind=kind)
        if incident is not None:
            return incident
    return None


async def ingest(*, session: AsyncSession, event: EdgeEvent, now_ms: int) -> Ingested:
    """Record ``event`` (flushes; the caller commits). A repeated key returns the first answer.

    A concurrent writer of the same key (or of the same subject's first incident of a kind) makes
    the flush or commit raise ``IntegrityError``; the caller rolls back and calls again.
    """
    existing = await find_event(session=session, key=event.key)
    if existing is not None:
        return await duplicate_of(session=session, record=existing)
    device = await session.get(Device, event.device_id)
    if device is None:
        raise InvalidInput("unknown device: register it first", field="device_id")
    record = EventRecord(
        key=event.key,
        edge_id=event.edge_id,
        device_id=event.device_id,
        seq=event.seq,
        kind=event.kind.value,
        severity=event.severity.value,
        device_ts=event.device_ts,
        edge_ts=event.edge_ts,
        cloud_ts=now_ms,
        ref_key=event.ref_key,
        payload=event.model_dump(mode="json", exclude_none=True),
    )
    session.add(record)
    await session.flush()
    if event.kind is EventKind.SOS_CANCEL:
        target = await _cancel_target(session, event, device)
        changed = False
        if target is not None:
            changed = await incidents.cancel_from_device(
                session=session, incident=target, event=event, now_ms=now_ms
            )
            if changed:
                await feedback.tell_closed(session, target, now_ms=now_ms)
            record.incident_id = target.id
        await session.flush()
        return Ingested(key=event.key, incident=target, duplicate=False, changed=changed)
    opened = await fusion.open_or_join(session=session, event=event, device=device, now_ms=now_ms)
    queued = 0
    if opened.alert_guardians:
        queued = await _alert_guardians(session, opened.incident, event=event, device=device, now_ms=now_ms)
    record.incident_id = opened.incident.id
    await session.flush()
    return Ingested(
        key=event.key,
        incident=opened.incident,
        duplicate=False,
        created=opened.created,
        changed=True,
        notifications=queued,
    )


async def _alert_guardians(
    session: AsyncSession, incident: Incident, *, event: EdgeEvent, device: Device, now_ms: int
) -> int:
    """Queue the guardians' SMS for ``incident`` (on opening, or when it becomes urgent)."""
    subject = await session.get(Subject, device.subject_id)
    if subject is None:
        return 0
    notes = await queue_guardian_alerts(
        session=session,
        incident_id=incident.id,
        subject_id=subject.id,
        masked_name=subject.masked_name,
        device_kind=device.kind,
        incident_kind=incident.kind,
        at_ms=event.device_ts,
        now_ms=now_ms,
    )
    if notes:
        add_entry(
            session,
            incident.id,
            at=now_ms,
            type_="notifications_queued",
            actor=SYSTEM_ACTOR,
            count=len(notes),
        )
        await session.flush()
    return len(notes)
