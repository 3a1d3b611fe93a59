"""Fusion: open an incident for an event, or join the subject's open incident of the same kind.

Fusion says when the guardians must be alerted (``Opened.alert_guardians``); the intake use case
queues the SMS. An unassigned alarm (no subject: see ``cloud.incidents.models``) joins the open unassigned
incident of the same device, gateway and kind, and alerts no guardian. Functions flush and never commit
(the intake request commits once); a join leaves its changes to the caller's next flush.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.incidents import lifecycle
from cloud.incidents.lifecycle import IncidentKind, Status
from cloud.incidents.models import Incident
from cloud.registry.models import Device
from cloud.timeline.entries import DEVICE_ACTOR, EDGE_ACTOR, SYSTEM_ACTOR, add_entry
from contracts.intake import EdgeEvent, EventKind, Severity

_DEVICE_KINDS = frozenset({EventKind.SOS, EventKind.SOS_CANCEL, EventKind.FALL_DEVICE, EventKind.PULL_CORD})
_HOME_FIELDS = ("sensor_id", "sensor_kind", "room", "text_en", "text_zh")


def home_report(event: EdgeEvent) -> dict[str, str]:
    """What a home hub reported (sensor, room, the edge's explanation), for the timeline entry."""
    evidence = event.evidence or {}
    return {name: evidence[name] for name in _HOME_FIELDS if isinstance(evidence.get(name), str)}


@dataclass(frozen=True, slots=True)
class Opened:
    incident: Incident
    created: bool
    alert_guardians: bool  # it opened urgent, or just became urgent: text the guardians now


def actor_of(kind: EventKind) -> str:
    return DEVICE_ACTOR if kind in _DEVICE_KINDS else EDGE_ACTOR


def _set_fix(incident: Incident, event: EdgeEvent) -> None:
    if event.fix is not None:
        incident.last_lat = event.fix.lat
        incident.last_lon = event.fix.lon
        incident.last_accuracy_m = event.fix.accuracy_m
        incident.last_fix_source = event.fix.source.value
        incident.last_fix_at = event.device_ts


# built once (the intake's hot path); joiners queue on the row (PostgreSQL), SQLite holds the write lock
_OPEN_OF_SUBJECT = (
    select(Incident)
    .where(Incident.subject_id == bindparam("subject_id"), Incident.fusion_key == bindparam("fusion_key"))
    .with_for_update(key_share=True)
)


async def find_open(*, session: AsyncSession, subject_id: int, kind: IncidentKind) -> Incident | None:
    return await session.scalar(_OPEN_OF_SUBJECT, {"subject_id": subject_id, "fusion_key": kind.value})


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
    *, session: AsyncSession, event: EdgeEvent, device: Device, now_ms: int, stored_key: str | None = None
) -> Opened:
    """Open an incident for ``event``, or add it to the subject's open incident of the same kind.
    ``stored_key``: the key the event is stored under, when not its own (a variant key)."""
    kind = lifecycle.incident_kind_of(event.kind)
    incident = await find_open(session=session, subject_id=device.subject_id, kind=kind)
    return await _open_or_join(
        session,
        incident,
        event,
        subject_id=device.subject_id,
        stored_key=stored_key or event.key,
        reason=None,
        now_ms=now_ms,
    )


async def open_or_join_unassigned(
    *, session: AsyncSession, event: EdgeEvent, stored_key: str, reason: str, now_ms: int
) -> Opened:
    """Open (or join) the unassigned incident of ``event``'s device at its gateway: no subject, no SMS."""
    kind = lifecycle.incident_kind_of(event.kind)
    incident = await find_open_unassigned(
        session=session, device_id=event.device_id, edge_id=event.edge_id, kind=kind
    )
    return await _open_or_join(
        session, incident, event, subject_id=None, stored_key=stored_key, reason=reason, now_ms=now_ms
    )


async def _open_or_join(
    session: AsyncSession,
    incident: Incident | None,
    event: EdgeEvent,
    *,
    subject_id: int | None,
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
                session, incident.id, at=now_ms, type_="severity_raised", actor=actor, severity=severity.value
            )
        incident.severity = severity.value
        incident.event_count += 1
        incident.last_event_kind = event.kind.value
        incident.updated_at = now_ms
        _set_fix(incident, event)
        add_entry(
            session,
            incident.id,
            at=now_ms,
            type_="event_joined",
            actor=actor,
            key=stored_key,
            event=event.kind.value,
            device_id=event.device_id,
            device_ts=event.device_ts,
            **home_report(event),
        )
        alert = lifecycle.should_notify_guardians(severity) and not lifecycle.should_notify_guardians(before)
        # not flushed here: the caller's flush writes these with the event's own row (one flush per event)
        alert = alert and subject_id is not None
        return Opened(incident=incident, created=False, alert_guardians=alert)

    incident = Incident(
        kind=kind.value,
        severity=event.severity.value,
        status=Status.NEW.value,
        subject_id=subject_id,
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
        incident.id,
        at=now_ms,
        type_="created",
        actor=actor,
        key=stored_key,
        event=event.kind.value,
        device_ts=event.device_ts,
        edge_ts=event.edge_ts,
        **home_report(event),
    )
    if reason is not None:
        add_entry(session, incident.id, at=now_ms, type_="unassigned", actor=SYSTEM_ACTOR, reason=reason)
    await session.flush()
    alert = subject_id is not None and lifecycle.should_notify_guardians(event.severity)
    return Opened(incident=incident, created=True, alert_guardians=alert)
