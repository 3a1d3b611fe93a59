"""Fusion: open an incident for an event, or join the subject's open incident of the same kind.

An unassigned alarm (no subject: see ``cloud.incidents.models``) joins the open unassigned incident of
the same device, gateway and kind. Functions flush and never commit (the intake request commits once).
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


async def find_open_unassigned(
    *, session: AsyncSession, device_id: str, edge_id: str, kind: IncidentKind
) -> Incident | None:
    return await session.scalar(
        select(Incident)
        .where(
            Incident.subject_id.is_(None),
            Incident.device_id == device_id,
            Incident.edge_id == edge_id,
            Incident.fusion_key == kind.value,
        )
        .order_by(Incident.id)
        .limit(1)
        .with_for_update()
    )


async def open_or_join(
    *, session: AsyncSession, event: EdgeEvent, device: Device, now_ms: int, origin_key: str | None = None
) -> Opened:
    """Open an incident for ``event``, or add it to the subject's open incident of the same kind."""
    kind = lifecycle.incident_kind_of(event.kind)
    incident = await find_open(session=session, subject_id=device.subject_id, kind=kind)
    return await _open_or_join(
        session,
        incident,
        event,
        device=device,
        stored_key=origin_key or event.key,
        reason=None,
        now_ms=now_ms,
    )


async def open_or_join_unassigned(
    *, session: AsyncSession, event: EdgeEvent, origin_key: str, reason: str, now_ms: int
) -> Opened:
    """Open (or join) the unassigned incident of ``event``'s device at its gateway: no subject, no SMS."""
    kind = lifecycle.incident_kind_of(event.kind)
    incident = await find_open_unassigned(
        session=session, device_id=event.device_id, edge_id=event.edge_id, kind=kind
    )
    return await _open_or_join(
        session, incident, event, device=None, stored_key=origin_key, reason=reason, now_ms=now_ms
    )


async def _open_or_join(
    session: AsyncSession,
    incident: Incident | None,
    event: EdgeEvent,
    *,
    device: Device | None,
    stored_key: str,
    reason: str | None,
    now_ms: int,
) -> Opened:
    kind = lifecycle.incident_kind_of(event.kind)
    actor = actor_of(event.kind)
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
            key=stored_key,
            event=event.kind.value,
            device_id=event.device_id,
            device_ts=event.device_ts,
        )
        queued = 0
        urgent_now = lifecycle.should_notify_guardians(severity) and not lifecycle.should_notify_guardians(
            before
        )
        if device is not None and urgent_now:
            queued = await _alert_guardians(
                session, incident, event=event, device=device, kind=kind, now_ms=now_ms
            )
        await session.flush()
        return Opened(incident=incident, created=False, notifications=queued)

    incident = Incident(
        kind=kind.value,
        severity=event.severity.value,
        status=Status.NEW.value,
        subject_id=None if device is None else device.subject_id,
        fusion_key=lifecycle.fusion_key(kind, Status.NEW),
        device_id=event.device_id,
        edge_id=event.edge_id,
        origin_key=stored_key,
        origin_seq=event.seq,
        origin_boot=event.boot,
        unassigned_reason=reason,
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
        key=stored_key,
        event=event.kind.value,
        device_ts=event.device_ts,
        edge_ts=event.edge_ts,
    )
    if reason is not None:
        add_entry(session, incident, at=now_ms, type_="unassigned", actor=SYSTEM_ACTOR, reason=reason)
    queued = 0
    if device is not None and lifecycle.should_notify_guardians(event.severity):
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
