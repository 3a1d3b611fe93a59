"""Intake, the use case behind ``POST /api/v1/intake/events``: store each edge event exactly once by
key, then open, join or cancel an incident; start its escalation (re-alerts, supervisor, the guardian
ladder: ``cloud.escalation``) when it opens, restart it when it becomes urgent, re-alert its owner on a
repeat press, and tell the device when its cancel closed the alarm.

Who may write what:

* the key must follow from the body (device + boot + seq + kind, see :mod:`contracts.identity`), else
  :class:`KeyNotDerived` (422): no one can take a future alarm's key ahead of it;
* a device's events come from the gateway it is assigned to, else :class:`WrongGateway` (403) — unless
  the gateway says it does not serve the device (``unassigned``): then an SOS or fall opens an
  *unassigned* incident, stored under the gateway's own key space (``<edge id>/<key>``), so it reaches the
  operators without touching that device's own incidents;
* an SOS or fall from a device the center does not know opens an unassigned incident too (it must reach
  a human); anything else from an unknown device is :class:`UnknownDevice` (422).

An unassigned incident escalates like any other (re-alerts, supervisor) but has no one on its ladder.
Guardians the edge texted itself (``edge_notified``) are recorded as sent notifications, so the ladder
skips them (:mod:`cloud.intake.edge_notices`).

A key already stored for a *different* message (its digest differs: old firmware whose counter
restarted) is not a duplicate: the event is stored under the variant key ``<key>.x<digest>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Row, Select, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.commands import feedback
from cloud.drills import service as drills
from cloud.errors import CloudError, Forbidden, InvalidInput
from cloud.escalation import service as escalation
from cloud.escalation.effects import Effects
from cloud.escalation.policy import Policy, policy_for
from cloud.incidents import fusion
from cloud.incidents import service as incidents
from cloud.incidents.lifecycle import KIND_OF_EVENT, OPEN_STATUSES, IncidentKind
from cloud.incidents.models import ROW_LOCK, Incident
from cloud.intake.edge_notices import record_edge_notices
from cloud.intake.models import EventRecord
from cloud.plans.service import policy_overrides
from cloud.registry.models import Device
from cloud.registry.schemas import SubjectSummary
from contracts.identity import variant_key
from contracts.intake import LIFE_ALARM_KINDS, EdgeEvent, EventKind, Severity, key_is_derived

DEVICE_PRESSES = frozenset({EventKind.SOS, EventKind.FALL_DEVICE})  # a person pressed again
UNKNOWN_DEVICE = "unknown_device"  # the center has no such device
OTHER_GATEWAY = "other_gateway"  # the device is registered, to a gateway other than the reporting one


class RefusedEvent(CloudError):
    """The gateway may not write this event; ``reason`` labels the metric."""

    reason = "refused"


class KeyNotDerived(InvalidInput, RefusedEvent):
    reason = "key_not_derived"


class UnknownDevice(InvalidInput, RefusedEvent):
    reason = "unknown_device"


class WrongGateway(Forbidden, RefusedEvent):
    reason = "wrong_gateway"


@dataclass(frozen=True, slots=True)
class Ingested:
    key: str
    incident: Incident | None
    duplicate: bool
    created: bool = False
    changed: bool = False
    effects: Effects = field(default_factory=Effects)  # publish after commit
    timers_changed: bool = False  # escalation timers were added or cancelled: wake the scheduler
    subject: SubjectSummary | None = None  # the incident's person as the operators see it, when already read

    @property
    def incident_id(self) -> str:
        return str(self.incident.id) if self.incident is not None else ""


_EVENT_BY_KEY = select(EventRecord).where(EventRecord.key == bindparam("key"))  # built once (hot path)


async def find_event(*, session: AsyncSession, key: str) -> EventRecord | None:
    return await session.scalar(_EVENT_BY_KEY, {"key": key})


async def duplicate_of(
    *, session: AsyncSession, record: EventRecord, event: EdgeEvent | None = None
) -> Ingested:
    """The first answer again. A repeat that names guardians the edge texted since (it sent the event,
    got no answer in time, texted them, and sent it again) still has them noted (``changed``)."""
    incident = await session.get(Incident, record.incident_id) if record.incident_id is not None else None
    changed = False
    if event is not None and incident is not None:
        changed = await record_edge_notices(session=session, incident=incident, event=event)
    return Ingested(key=record.key, incident=incident, duplicate=True, changed=changed)


@dataclass(frozen=True, slots=True)
class Registration:
    """What intake needs of a registered device: its gateway and its person."""

    edge_id: str
    subject_id: int


def check_authority(event: EdgeEvent, device: Registration | None) -> str | None:
    """Refuse what ``event``'s gateway may not write; else the unassigned reason (None: assigned)."""
    if not key_is_derived(event):
        raise KeyNotDerived("key must be derived from device_id, boot, seq and kind", field="key")
    if device is not None and device.edge_id == event.edge_id:
        return None
    if device is not None and not event.unassigned:
        raise WrongGateway(
            "the device is assigned to another gateway; report an alarm from it as unassigned",
            field="device_id",
        )
    if event.kind not in LIFE_ALARM_KINDS and event.kind is not EventKind.SOS_CANCEL:
        if device is None:
            raise UnknownDevice("unknown device: register it first", field="device_id")
        raise WrongGateway("only alarms may be reported for a device of another gateway", field="device_id")
    return UNKNOWN_DEVICE if device is None else OTHER_GATEWAY


_devices_t = cast(Table, Device.__table__)
_events_t = cast(Table, EventRecord.__table__)
_DEVICE_READS: dict[str, Select[Any]] = {}  # per dialect: built once each (the intake's hot path)


def _device_read(dialect: str) -> Select[Any]:
    """The device, whether its key is taken, and its person's open incident of the event's kind (locked,
    as :func:`fusion.find_open` would), in one statement: plain columns, no ORM object."""
    statement = _DEVICE_READS.get(dialect)
    if statement is None:
        stored = select(_events_t.c.id).where(_events_t.c.key == bindparam("key")).exists()
        statement = _DEVICE_READS[dialect] = (
            fusion.open_row_beside(dialect, _devices_t, _devices_t.c.subject_id)
            .add_columns(
                _devices_t.c.edge_id.label("device_edge_id"),
                _devices_t.c.subject_id.label("device_subject_id"),
                stored.label("stored"),
            )
            .where(_devices_t.c.device_id == bindparam("device_id"))
        )
    return statement


async def _read_device(
    session: AsyncSession, event: EdgeEvent
) -> tuple[Registration | None, bool, Row[Any] | None]:
    """The event's device (None: unknown); whether an event is stored under the event's own key (True when
    the device is unknown); its person's open incident of the event's kind (columns NULL: none), for
    :func:`fusion.open_row_of` (None when the device is unknown)."""
    kind = KIND_OF_EVENT.get(event.kind)  # a cancel joins nothing: NULL matches no incident
    params = {
        "key": event.key,
        "device_id": event.device_id,
        "fusion_key": None if kind is None else kind.value,
    }
    dialect = session.get_bind().dialect.name
    row = (await session.execute(_device_read(dialect), params)).first()
    if row is None:
        return None, True, None
    return Registration(row.device_edge_id, row.device_subject_id), bool(row.stored), row


async def _place(session: AsyncSession, key: str, event: EdgeEvent) -> tuple[str, EventRecord | None]:
    """Where ``event`` is stored, and the record already there if it is a copy of the same message."""
    existing = await find_event(session=session, key=key)
    if existing is None or event.digest is None:
        return key, existing
    stored = existing.payload.get("digest")
    if stored is None or stored == event.digest:
        return key, existing
    variant = variant_key(key, event.digest)  # the same key, a different message: never a duplicate
    return variant, await find_event(session=session, key=variant)


async def _cancel_target(
    session: AsyncSession, event: EdgeEvent, subject_id: int | None, ref_key: str | None
) -> Incident | None:
    """The incident a cancel refers to: the one ``ref_key`` opened or joined, else the open SOS/fall.

    A device whose counter restarted (same key, another message: stored under a variant key) means its
    latest press with that number: of the events stored under ``ref_key`` and its variants, the newest
    whose incident is still open wins; else the one ``ref_key`` itself names (a cancel of a closed alarm
    changes nothing)."""
    if ref_key:
        refs = (
            await session.execute(
                select(EventRecord.key, EventRecord.incident_id, Incident.status)
                .join(Incident, Incident.id == EventRecord.incident_id)
                .where(
                    (EventRecord.key == ref_key)
                    | EventRecord.key.startswith(variant_key(ref_key, ""), autoescape=True)
                )
                .order_by(EventRecord.id.desc())
            )
        ).all()
        chosen = next((i for _, i, status in refs if status in OPEN_STATUSES), None)
        if chosen is None:
            chosen = next((i for key, i, _ in refs if key == ref_key), None)
        if chosen is not None:
            return await session.get(Incident, chosen, with_for_update=ROW_LOCK)
    for kind in (IncidentKind.SOS, IncidentKind.FALL):
        if subject_id is not None:
            incident = await fusion.find_open(session=session, subject_id=subject_id, kind=kind)
        else:
            incident = await fusion.find_open_unassigned(
                session=session, device_id=event.device_id, edge_id=event.edge_id, kind=kind
            )
        if incident is not None:
            return incident
    return None


async def _join_quickly(
    session: AsyncSession, event: EdgeEvent, row: Row[Any], values: dict[str, Any], now_ms: int
) -> Ingested | None:
    """The common case of a storm, with Core statements and no ORM objects: a press joins its person's
    open incident, and nothing else follows (no timers to start, no owner to re-alert, no edge notices).
    None (nothing written) when it is not that case: :func:`ingest` then takes the ORM path."""
    found = fusion.open_row_of(session, row)
    if found is None:
        return None
    join = fusion.join_of(found.row.severity, event, assigned=True)
    if join.alert_guardians and found.owner is None:
        return None  # it became urgent: the escalation restarts (ORM path)
    if event.kind in DEVICE_PRESSES and found.owner is not None:
        return None  # a repeat press re-alerts the owner (ORM path)
    # the event's row after its incident's: a concurrent writer of the same key makes this raise
    # IntegrityError, as the ORM flush would (the caller rolls back and retries)
    incident = await fusion.join_row(
        session=session,
        found=found,
        join=join,
        event=event,
        now_ms=now_ms,
        stored_key=values["key"],
        record=_events_t,
        record_values={**values, "incident_id": found.id},
    )
    return Ingested(
        key=values["key"], incident=incident, duplicate=False, changed=True, subject=found.subject
    )


async def ingest(
    *,
    session: AsyncSession,
    event: EdgeEvent,
    now_ms: int,
    policies: Mapping[Severity, Policy] | None = None,
) -> Ingested:
    """Record ``event`` (flushes; the caller commits). A repeated key returns the first answer.

    Raises a :data:`RefusedEvent` (nothing written) when the gateway may not write it.

    ``policies``: the center's escalation policy per severity (the built-in ones when None); a
    person's response plan overrides them.

    A concurrent writer of the same key (or of the same subject's first incident of a kind) makes
    the flush or commit raise ``IntegrityError``; the caller rolls back and calls again.
    """
    device, stored, row = await _read_device(session, event)
    unassigned = check_authority(event, device)
    scope = "" if unassigned is None else f"{event.edge_id}/"
    if unassigned is None and not stored:
        key, existing = event.key, None  # nothing stored under the device's own key yet: no second look
    else:
        key, existing = await _place(session, scope + event.key, event)
    if existing is not None:
        return await duplicate_of(session=session, record=existing, event=event)
    values = {
        "key": key,
        "edge_id": event.edge_id,
        "device_id": event.device_id,
        "boot": event.boot,
        "seq": event.seq,
        "kind": event.kind.value,
        "severity": event.severity.value,
        "device_ts": event.device_ts,
        "edge_ts": event.edge_ts,
        "cloud_ts": now_ms,
        "ref_key": event.ref_key,
        "payload": event.model_dump(mode="json", exclude_none=True),
    }
    if unassigned is None and event.kind is not EventKind.SOS_CANCEL and not event.edge_notified:
        assert row is not None
        joined = await _join_quickly(session, event, row, values, now_ms)
        if joined is not None:
            return joined
    record = EventRecord(**values)
    # The row is added once its incident is known: one INSERT, no UPDATE. A concurrent writer of the
    # same key still makes the final flush raise IntegrityError (the caller rolls back and retries).
    subject_id = device.subject_id if device is not None and unassigned is None else None
    if event.kind is EventKind.SOS_CANCEL:
        ref_key = scope + event.ref_key if event.ref_key else None
        target = await _cancel_target(session, event, subject_id, ref_key)
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
        session.add(record)
        await session.flush()
        return Ingested(
            key=key,
            incident=target,
            duplicate=False,
            changed=changed,
            effects=effects,
            timers_changed=changed,
        )
    if unassigned is None:
        assert device is not None
        opened = await fusion.open_or_join(
            session=session, event=event, subject_id=device.subject_id, now_ms=now_ms, stored_key=key
        )
    else:
        opened = await fusion.open_or_join_unassigned(
            session=session, event=event, stored_key=key.removeprefix(scope), reason=unassigned, now_ms=now_ms
        )
    incident, effects = opened.incident, Effects()
    await record_edge_notices(session=session, incident=incident, event=event)
    if opened.created:
        await drills.claim_for(session=session, incident=incident, now_ms=now_ms)
    timers_changed = opened.created or (opened.alert_guardians and incident.owner is None)
    if timers_changed:
        overrides = (
            await policy_overrides(session=session, subject_id=incident.subject_id)
            if incident.subject_id is not None
            else None
        )
        policy = policy_for(
            Severity(incident.severity),
            overrides=overrides,
            defaults=dict(policies) if policies is not None else None,
        )
        start = escalation.start if opened.created else escalation.restart
        await start(session=session, incident=incident, policy=policy, now_ms=now_ms)
    elif event.kind in DEVICE_PRESSES:
        await escalation.realert_owner(
            session=session, incident=incident, reason="repeat_press", now_ms=now_ms, effects=effects
        )
    record.incident_id = opened.incident.id
    session.add(record)
    await session.flush()
    return Ingested(
        key=key,
        incident=opened.incident,
        duplicate=False,
        created=opened.created,
        changed=True,
        effects=effects,
        timers_changed=timers_changed,
    )
