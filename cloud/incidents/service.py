"""Incident service: queries, transitions, notes, device cancel (fusion is in fusion.py).

What the device is told about a transition is not decided here: the use cases that call these
(``cloud.response`` for operators, ``cloud.intake`` for a device's cancel) queue it through
``cloud.commands.feedback``. Functions flush and never commit: the request's unit of work commits
incident, timeline, queued notifications and device commands together.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.errors import IllegalTransition, NotFound
from cloud.incidents import lifecycle
from cloud.incidents.lifecycle import IncidentKind, LifecycleState, Outcome, Status
from cloud.incidents.models import ROW_LOCK, Incident
from cloud.incidents.scope import in_streets
from cloud.timeline.entries import DEVICE_ACTOR, add_entry
from contracts.intake import EdgeEvent


async def get_incident(*, session: AsyncSession, incident_id: int, for_update: bool = False) -> Incident:
    """The incident, row-locked until commit when ``for_update`` (every change takes the lock)."""
    incident = await session.get(Incident, incident_id, with_for_update=ROW_LOCK if for_update else None)
    if incident is None:
        raise NotFound(f"no incident {incident_id}", field="incident_id")
    return incident


async def list_incidents(
    *,
    session: AsyncSession,
    statuses: Sequence[Status] | None,
    kind: str | None,
    limit: int,
    streets: frozenset[int] | None = None,
) -> list[Incident]:
    """Newest first; ``streets`` restricts to people living there (None: every street)."""
    query = in_streets(select(Incident), streets)
    query = query.order_by(Incident.cloud_ts.desc(), Incident.id.desc()).limit(limit)
    if statuses is not None:
        query = query.where(Incident.status.in_([s.value for s in statuses]))
    if kind is not None:
        query = query.where(Incident.kind == kind)
    return list((await session.scalars(query)).all())


def _state(incident: Incident) -> LifecycleState:
    return LifecycleState(
        status=Status(incident.status),
        acknowledged_at=incident.acknowledged_at,
        dispatched_at=incident.dispatched_at,
        resolved_at=incident.resolved_at,
        outcome=incident.outcome,
        acknowledged_by=incident.acknowledged_by,
        responder=incident.responder,
        eta_min=incident.eta_min,
    )


def _apply(incident: Incident, new: LifecycleState, now_ms: int) -> None:
    incident.status = new.status.value
    incident.acknowledged_at = new.acknowledged_at
    incident.dispatched_at = new.dispatched_at
    incident.resolved_at = new.resolved_at
    incident.outcome = new.outcome
    incident.acknowledged_by = new.acknowledged_by
    incident.responder = new.responder
    incident.eta_min = new.eta_min
    incident.fusion_key = lifecycle.fusion_key(IncidentKind(incident.kind), new.status)
    incident.updated_at = now_ms


def _transition_error(exc: lifecycle.IllegalTransitionError) -> IllegalTransition:
    return IllegalTransition(str(exc), field="status")


async def acknowledge(
    *, session: AsyncSession, incident_id: int, operator: str, eta_min: int | None, now_ms: int
) -> Incident:
    incident = await get_incident(session=session, incident_id=incident_id, for_update=True)
    try:
        new = lifecycle.acknowledge(_state(incident), operator=operator, eta_min=eta_min, now_ms=now_ms)
    except lifecycle.IllegalTransitionError as exc:
        raise _transition_error(exc) from exc
    _apply(incident, new, now_ms)
    add_entry(session, incident.id, at=now_ms, type_="acknowledged", actor=operator, eta_min=eta_min)
    await session.flush()
    return incident


async def dispatch(
    *, session: AsyncSession, incident_id: int, operator: str, responder: str | None, now_ms: int
) -> Incident:
    incident = await get_incident(session=session, incident_id=incident_id, for_update=True)
    try:
        new = lifecycle.dispatch(_state(incident), responder=responder, now_ms=now_ms)
    except lifecycle.IllegalTransitionError as exc:
        raise _transition_error(exc) from exc
    _apply(incident, new, now_ms)
    add_entry(session, incident.id, at=now_ms, type_="dispatched", actor=operator, responder=responder)
    await session.flush()
    return incident


async def _close(
    session: AsyncSession, incident: Incident, new: LifecycleState, actor: str, now_ms: int
) -> None:
    _apply(incident, new, now_ms)
    add_entry(session, incident.id, at=now_ms, type_=new.status.value, actor=actor, outcome=new.outcome)
    await session.flush()


async def resolve(
    *, session: AsyncSession, incident_id: int, operator: str, outcome: Outcome, now_ms: int
) -> Incident:
    incident = await get_incident(session=session, incident_id=incident_id, for_update=True)
    try:
        new = lifecycle.resolve(_state(incident), outcome=outcome, now_ms=now_ms)
    except lifecycle.IllegalTransitionError as exc:
        raise _transition_error(exc) from exc
    await _close(session, incident, new, operator, now_ms)
    return incident


async def mark_false_alarm(
    *, session: AsyncSession, incident_id: int, operator: str, now_ms: int
) -> Incident:
    incident = await get_incident(session=session, incident_id=incident_id, for_update=True)
    try:
        new = lifecycle.mark_false_alarm(_state(incident), now_ms=now_ms)
    except lifecycle.IllegalTransitionError as exc:
        raise _transition_error(exc) from exc
    await _close(session, incident, new, operator, now_ms)
    return incident


async def cancel_from_device(
    *, session: AsyncSession, incident: Incident, event: EdgeEvent, now_ms: int
) -> bool:
    """Apply a device's SOS cancel to ``incident``; False (and a timeline note) if it is already closed."""
    try:
        new = lifecycle.cancel(_state(incident), now_ms=now_ms)
    except lifecycle.IllegalTransitionError:
        add_entry(session, incident.id, at=now_ms, type_="cancel_ignored", actor=DEVICE_ACTOR, key=event.key)
        await session.flush()
        return False
    await _close(session, incident, new, DEVICE_ACTOR, now_ms)
    return True


async def add_note(
    *, session: AsyncSession, incident_id: int, operator: str, text: str, now_ms: int
) -> Incident:
    incident = await get_incident(session=session, incident_id=incident_id, for_update=True)
    incident.updated_at = now_ms
    add_entry(session, incident.id, at=now_ms, type_="note", actor=operator, text=text)
    await session.flush()
    return incident
