"""``POST /api/v1/intake/events``: the edge's alarm events (contracts/intake.py)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from sqlalchemy.exc import IntegrityError

from cloud.deps import ClockDep, EdgeDep, SessionDep, StateDep
from cloud.errors import Conflict, Forbidden
from cloud.intake import service
from cloud.intake.service import Ingested
from cloud.live.broadcast import announce_incident, wake_edge
from cloud.state import CloudState
from contracts.intake import INTAKE_PATH, EdgeEvent, IntakeAck

log = logging.getLogger(__name__)
router = APIRouter(tags=["intake"])

ATTEMPTS = 3


@router.post(INTAKE_PATH, status_code=201, responses={200: {"model": IntakeAck, "description": "duplicate"}})
async def post_event(
    event: EdgeEvent,
    response: Response,
    *,
    session: SessionDep,
    state: StateDep,
    now: ClockDep,
    edge: EdgeDep,
) -> IntakeAck:
    if event.edge_id != edge:
        state.metrics.intake_events.labels("rejected").inc()
        raise Forbidden("edge_id does not match the bearer token", field="edge_id")
    result = await _ingest_once(event, session, now(), state)
    if result.duplicate:
        response.status_code = 200
        state.metrics.intake_events.labels("duplicate").inc()
        log.info("intake.duplicate key=%s", event.key)
        return IntakeAck(key=event.key, incident_id=result.incident_id, duplicate=True)
    state.metrics.intake_events.labels("new").inc()
    state.metrics.edge_to_cloud_seconds.observe(max(0.0, (now() - event.edge_ts) / 1000))
    if result.incident is not None:
        incident = result.incident
        if result.created:
            state.metrics.incidents_created.labels(incident.kind, incident.severity).inc()
            log.info(
                "incident.created id=%d key=%s kind=%s severity=%s",
                incident.id,
                event.key,
                incident.kind,
                incident.severity,
            )
        if result.changed:
            await announce_incident(session=session, hub=state.hub, incident=incident, created=result.created)
            wake_edge(state.hub, incident.edge_id)
            state.escalation_wakeup.set()  # its timers are new, or were just cancelled
        if result.effects:
            await result.effects.publish(session=session, hub=state.hub, outbox_wakeup=state.outbox_wakeup)
    return IntakeAck(key=event.key, incident_id=result.incident_id, duplicate=False)


async def _ingest_once(event: EdgeEvent, session: SessionDep, now_ms: int, state: CloudState) -> Ingested:
    """Ingest and commit; a unique-constraint race is rolled back and retried (then it is a duplicate)."""
    for _ in range(ATTEMPTS):
        try:
            result = await service.ingest(
                session=session, event=event, now_ms=now_ms, policies=state.policies
            )
            if not result.duplicate:
                await session.commit()
            return result
        except IntegrityError:
            await session.rollback()
            log.info("intake.race key=%s", event.key)
    raise Conflict("the event collided with concurrent writes; retry", field="key")
