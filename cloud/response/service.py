"""The operators' response to an incident: acknowledge, dispatch, resolve, mark a false alarm, add a note.

Each use case moves the incident (``cloud.incidents``) and, for SOS and fall incidents, queues what
the device is told (``cloud.commands.feedback``: "help is coming", "alarm over"). Functions flush and
never commit: the route commits the incident, its timeline and the device command together.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.commands import feedback
from cloud.incidents import service as incidents
from cloud.incidents.lifecycle import Outcome
from cloud.incidents.models import Incident


async def acknowledge(
    *, session: AsyncSession, incident_id: int, operator: str, eta_min: int | None, now_ms: int
) -> Incident:
    incident = await incidents.acknowledge(
        session=session, incident_id=incident_id, operator=operator, eta_min=eta_min, now_ms=now_ms
    )
    await feedback.tell_acknowledged(session, incident, operator=operator, eta_min=eta_min, now_ms=now_ms)
    await session.flush()
    return incident


async def dispatch(
    *, session: AsyncSession, incident_id: int, operator: str, responder: str | None, now_ms: int
) -> Incident:
    return await incidents.dispatch(
        session=session, incident_id=incident_id, operator=operator, responder=responder, now_ms=now_ms
    )


async def resolve(
    *, session: AsyncSession, incident_id: int, operator: str, outcome: Outcome, now_ms: int
) -> Incident:
    incident = await incidents.resolve(
        session=session, incident_id=incident_id, operator=operator, outcome=outcome, now_ms=now_ms
    )
    await feedback.tell_closed(session, incident, now_ms=now_ms)
    await session.flush()
    return incident


async def mark_false_alarm(
    *, session: AsyncSession, incident_id: int, operator: str, now_ms: int
) -> Incident:
    incident = await incidents.mark_false_alarm(
        session=session, incident_id=incident_id, operator=operator, now_ms=now_ms
    )
    await feedback.tell_closed(session, incident, now_ms=now_ms)
    await session.flush()
    return incident


async def add_note(
    *, session: AsyncSession, incident_id: int, operator: str, text: str, now_ms: int
) -> Incident:
    return await incidents.add_note(
        session=session, incident_id=incident_id, operator=operator, text=text, now_ms=now_ms
    )
