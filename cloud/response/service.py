"""The operators' response to an incident: acknowledge, dispatch, resolve, mark a false alarm, add a note.

Each use case moves the incident (``cloud.incidents``) and, for SOS and fall incidents, queues what
the device is told (``cloud.commands.feedback``: "help is coming", "alarm over"). Functions flush and
never commit: the route commits the incident, its timeline and the device command together.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.commands import feedback
from cloud.escalation import service as escalation
from cloud.escalation.effects import Effects
from cloud.incidents import service as incidents
from cloud.incidents.lifecycle import Outcome
from cloud.incidents.models import Incident


async def acknowledge(
    *,
    session: AsyncSession,
    incident_id: int,
    operator: str,
    eta_min: int | None,
    now_ms: int,
    effects: Effects | None = None,
) -> Incident:
    """Claim: the operator owns the incident, every escalation step stops, reached contacts hear so."""
    effects = effects if effects is not None else Effects()
    incident = await incidents.acknowledge(
        session=session, incident_id=incident_id, operator=operator, eta_min=eta_min, now_ms=now_ms
    )
    incident.owner = operator
    await feedback.tell_acknowledged(session, incident, operator=operator, eta_min=eta_min, now_ms=now_ms)
    await escalation.stop(
        session=session, incident=incident, by=operator, reason="claimed", now_ms=now_ms, effects=effects
    )
    await escalation.follow_up(
        session=session, incident=incident, closed=False, now_ms=now_ms, effects=effects
    )
    await session.flush()
    return incident


async def _closed(session: AsyncSession, incident: Incident, by: str, now_ms: int, effects: Effects) -> None:
    await escalation.stop(
        session=session, incident=incident, by=by, reason="closed", now_ms=now_ms, effects=effects
    )
    await escalation.follow_up(
        session=session, incident=incident, closed=True, now_ms=now_ms, effects=effects
    )


async def dispatch(
    *, session: AsyncSession, incident_id: int, operator: str, responder: str | None, now_ms: int
) -> Incident:
    return await incidents.dispatch(
        session=session, incident_id=incident_id, operator=operator, responder=responder, now_ms=now_ms
    )


async def resolve(
    *,
    session: AsyncSession,
    incident_id: int,
    operator: str,
    outcome: Outcome,
    now_ms: int,
    effects: Effects | None = None,
) -> Incident:
    incident = await incidents.resolve(
        session=session, incident_id=incident_id, operator=operator, outcome=outcome, now_ms=now_ms
    )
    await feedback.tell_closed(session, incident, now_ms=now_ms)
    await _closed(session, incident, operator, now_ms, effects if effects is not None else Effects())
    await session.flush()
    return incident


async def mark_false_alarm(
    *, session: AsyncSession, incident_id: int, operator: str, now_ms: int, effects: Effects | None = None
) -> Incident:
    incident = await incidents.mark_false_alarm(
        session=session, incident_id=incident_id, operator=operator, now_ms=now_ms
    )
    await feedback.tell_closed(session, incident, now_ms=now_ms)
    await _closed(session, incident, operator, now_ms, effects if effects is not None else Effects())
    await session.flush()
    return incident


async def add_note(
    *, session: AsyncSession, incident_id: int, operator: str, text: str, now_ms: int
) -> Incident:
    return await incidents.add_note(
        session=session, incident_id=incident_id, operator=operator, text=text, now_ms=now_ms
    )
