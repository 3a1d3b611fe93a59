"""Intake, the use case behind ``POST /api/v1/intake/events``: store each edge event exactly once by
key, then open, join or cancel an incident; start its escalation (re-alerts, supervisor, the guardian
ladder: ``cloud.escalation``) when it opens, restart it when it becomes urgent, re-alert its owner on a
repeat press, and tell the device when its cancel closed the alarm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.commands import feedback
from cloud.drills import service as drills
from cloud.errors import InvalidInput
from cloud.escalation import service as escalation
from cloud.escalation.effects import Effects
from cloud.escalation.policy import Policy, policy_for
from cloud.incidents import fusion
from cloud.incidents import service as incidents
from cloud.incidents.lifecycle import IncidentKind
from cloud.incidents.models import ROW_LOCK, Incident
from cloud.intake.models import EventRecord
from cloud.plans.service import policy_overrides
from cloud.registry.models import Device
from contracts.intake import EdgeEvent, EventKind, Severity

DEVICE_PRESSES = frozenset({EventKind.SOS, EventKind.FALL_DEVICE})  # a person pressed again


@dataclass(frozen=True, slots=True)
class Ingested:
    key: str
    incident: Incident | None
    duplicate: bool
    created: bool = False
    changed: bool = False
    effects: Effects = field(default_factory=Effects)  # publish after commit

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
            return await session.get(Incident, ref.incident_id, with_for_update=ROW_LOCK)
    for kind in (IncidentKind.SOS, IncidentKind.FALL):
        incident = await fusion.find_open(session=session, subject_id=device.subject_id, kind=kind)
        if incident is not None:
            return incident
    return None


async def ingest(
    *,
    session: AsyncSession,
    event: EdgeEvent,
    now_ms: int,
    policies: Mapping[Severity, Policy] | None = None,
) -> Ingested:
    """Record ``event`` (flushes; the caller commits). A repeated key returns the first answer.

    ``policies``: the center's escalation policy per severity (the built-in ones when None); a
    person's response plan overrides them.

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
        effects = Effects()
        if target is not None:
            changed = await incidents.cancel_from_device(
                session=session, incident=target, event=event, now_ms=now_ms
            )
            if changed:
                await feedback.tell_closed(session, target, now_ms=now_ms)
                await escalation.stop(
                    session=session,
                    incident=target,
                    by="device",
                    reason="cancelled",
                    now_ms=now_ms,
                    effects=effects,
                )
                await escalation.follow_up(
                    session=session, incident=target, closed=True, now_ms=now_ms, effects=effects
                )
            record.incident_id = target.id
        await session.flush()
        return Ingested(key=event.key, incident=target, duplicate=False, changed=changed, effects=effects)
    opened = await fusion.open_or_join(session=session, event=event, device=device, now_ms=now_ms)
    incident, effects = opened.incident, Effects()
    if opened.created:
        await drills.claim_for(session=session, incident=incident, now_ms=now_ms)
    if opened.created or (opened.alert_guardians and incident.owner is None):
        policy = policy_for(
            Severity(incident.severity),
            overrides=await policy_overrides(session=session, subject_id=incident.subject_id),
            defaults=dict(policies) if policies is not None else None,
        )
        start = escalation.start if opened.created else escalation.restart
        await start(session=session, incident=incident, policy=policy, now_ms=now_ms)
    elif event.kind in DEVICE_PRESSES:
        await escalation.realert_owner(
            session=session, incident=incident, reason="repeat_press", now_ms=now_ms, effects=effects
        )
    record.incident_id = opened.incident.id
    await session.flush()
    return Ingested(
        key=event.key,
        incident=opened.incident,
        duplicate=False,
        created=opened.created,
        changed=True,
        effects=effects,
    )
