"""Fusion: open an incident for an event, or join the subject's open incident of the same kind.

Functions flush and never commit (the intake request commits once).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.incidents import lifecycle
from cloud.incidents.lifecycle import IncidentKind, Status
from cloud.incidents.models import Incident
from cloud.notify.service import queue_guardian_alerts
from cloud.registry.models import Device, Subject
from cloud.timeline.entries import DEVICE_ACTOR, EDGE_ACTOR, SYSTEM_ACTOR, add_entry
from contracts.intake import EdgeEvent, EventKind, Severity

_DEVICE_KINDS = frozenset({EventKind.SOS, EventKind.SOS_CANCEL, EventKind.FALL_DEVICE})


@dataclass(frozen=True, slots=True)
class Opened:
    incident: Incident
    created: bool
    notifications: int


def actor_of(kind: EventKind) -> str:
    return DEVICE_ACTOR if kind in _DEVICE_KINDS else EDGE_ACTOR


def _set_fix(incident: Incident, event: EdgeEvent) -> None:
    if event.fix is not None:
        incident.last_lat = event.fix.lat
        incident.last_lon = event.fix.lon
        incident.last_accuracy_m = event.fix.accuracy_m
        incident.last_fix_source = event.fix.source.value
        incident.last_fix_at = event.device_ts


async def find_open(*, session: AsyncSession, subject_id: int, kind: IncidentKind) -> Incident | None:
    return await session.scalar(
        select(Incident)
        .where(Incident.subject_id == subject_id, Incident.fusion_key == kind.value)
        .with_for_update()  # joiners queue on the row (PostgreSQL); SQLite already holds the write lock
    )


async def open_or_join(*, session: AsyncSession, event: EdgeEvent, device: Device, now_ms: int) -> Opened:
    """Open an incident for ``event``, or add it to the subject's open incident of the same kind."""
    kind = lifecycle.incident_kind_of(event.kind)
    actor = actor_of(event.kind)
    incident = await find_open(session=session, subject_id=device.subject_id, kind=kind)
    if incident is not None:
        before = Severity(incident.severity)
        severity = lifecycle.higher_severity(before, event.severity)
        if severity != before:
            add_entry(
                session, incident, at=now_ms, type_="severity_raised", actor=actor, severity=severity.value
            )
        incident.severity = severity.value
        incident.event_count += 1
        incident.last_event_kind = event.kind.value
        incident.updated_at = now_ms
        _set_fix(incident, event)
        add_entry(
            session,
            incident,
            at=now_ms,
            type_="event_joined",
            actor=actor,
            key=event.key,
            event=event.kind.value,
            device_id=event.device_id,
            device_ts=event.device_ts,
        )
        queued = 0
        if lifecycle.should_notify_guardians(severity) and not lifecycle.should_notify_guardians(before):
            queued = await _alert_guardians(
                session, incident, event=event, device=device, kind=kind, now_ms=now_ms
            )
        await session.flush()
        return Opened(incident=incident, created=False, notifications=queued)

    incident = Incident(
        kind=kind.value,
        severity=event.severity.value,
        status=Status.NEW.value,
        subject_id=device.subject_id,
        fusion_key=lifecycle.fusion_key(kind, Status.NEW),
        device_id=event.device_id,
        edge_id=event.edge_id,
        origin_key=event.key,
        origin_seq=event.seq,
        device_ts=event.device_ts,
        edge_ts=event.edge_ts,
        cloud_ts=now_ms,
        updated_at=now_ms,
        event_count=1,
        origin_kind=event.kind.value,
        last_event_kind=event.kind.value,
    )
    _set_fix(incident, event)
    session.add(incident)
    await session.flush()
    add_entry(
        session,
        incident,
        at=now_ms,
        type_="created",
        actor=actor,
        key=event.key,
        event=event.kind.value,
        device_ts=event.device_ts,
        edge_ts=event.edge_ts,
    )
    queued = 0
    if lifecycle.should_notify_guardians(event.severity):
        queued = await _alert_guardians(
            session, incident, event=event, device=device, kind=kind, now_ms=now_ms
        )
    await session.flush()
    return Opened(incident=incident, created=True, notifications=queued)


async def _alert_guardians(
    session: AsyncSession,
    incident: Incident,
    *,
    event: EdgeEvent,
    device: Device,
    kind: IncidentKind,
    now_ms: int,
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
        incident_kind=kind.value,
        at_ms=event.device_ts,
        now_ms=now_ms,
    )
    if notes:
        add_entry(
            session, incident, at=now_ms, type_="notifications_queued", actor=SYSTEM_ACTOR, count=len(notes)
        )
    return len(notes)
