"""``POST /api/v1/intake/events`` (one event) and ``POST /api/v1/intake/events/batch`` (a draining
gateway's backlog, one transaction): the edge's alarm events (contracts/intake.py)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.deps import ClockDep, EdgeDep, SessionDep, StateDep
from cloud.errors import Conflict, Forbidden
from cloud.http_errors import status_of
from cloud.incidents.models import Incident
from cloud.intake import service
from cloud.intake.service import Ingested, RefusedEvent
from cloud.live.broadcast import announce_incidents, wake_edge
from cloud.state import CloudState
from contracts.intake import (
    INTAKE_BATCH_PATH,
    INTAKE_PATH,
    EdgeEvent,
    IntakeAck,
    IntakeBatch,
    IntakeBatchAck,
    IntakeResult,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["intake"])

ATTEMPTS = 3
EDGE_MISMATCH = "edge_id does not match the bearer token"


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
        _refused(state, "edge_mismatch", event)
        raise Forbidden(EDGE_MISMATCH, field="edge_id")
    try:
        result = await _ingest_once(event, session, now())
    except RefusedEvent as exc:  # nothing was written
        _refused(state, exc.reason, event)
        raise
    if result.duplicate:
        response.status_code = 200
    changed = _account(state, event, result, now())
    if changed:
        await _announce(state, session, changed)
    return IntakeAck(key=event.key, incident_id=result.incident_id, duplicate=result.duplicate)


@router.post(INTAKE_BATCH_PATH, status_code=200)
async def post_events(
    batch: IntakeBatch,
    *,
    session: SessionDep,
    state: StateDep,
    now: ClockDep,
    edge: EdgeDep,
) -> IntakeBatchAck:
    """Each event stored exactly as ``POST /events`` would, in the order given, in one transaction; the
    answer holds each event's own status. A write race rolls the whole batch back and runs it again (what
    the racer stored is then a duplicate); after ``ATTEMPTS`` every event is answered 409 (retry)."""
    now_ms = now()
    for _ in range(ATTEMPTS):
        try:
            outcomes = [await _ingest_in_batch(event, edge, session, now_ms) for event in batch.events]
            await session.commit()
            break
        except IntegrityError:
            await session.rollback()
            log.info("intake.batch_race size=%d", len(batch.events))
    else:
        return IntakeBatchAck(
            results=[
                IntakeResult(key=e.key, status=409, error="collided with concurrent writes; retry")
                for e in batch.events
            ]
        )
    results: list[IntakeResult] = []
    changed: dict[int, tuple[Incident, bool]] = {}
    for event, outcome in zip(batch.events, outcomes, strict=True):
        if isinstance(outcome, RefusedEvent):
            _refused(state, outcome.reason, event)
            results.append(IntakeResult(key=event.key, status=status_of(outcome), error=str(outcome)))
            continue
        for incident, created in _account(state, event, outcome, now_ms):
            before = changed.get(incident.id)
            changed[incident.id] = (incident, created or (before is not None and before[1]))
        results.append(
            IntakeResult(
                key=event.key,
                status=200 if outcome.duplicate else 201,
                incident_id=outcome.incident_id,
                duplicate=outcome.duplicate,
            )
        )
    if changed:
        await _announce(state, session, list(changed.values()))
    return IntakeBatchAck(results=results)


async def _ingest_in_batch(
    event: EdgeEvent, edge: str, session: AsyncSession, now_ms: int
) -> Ingested | RefusedEvent:
    """One event of a batch (flushed, not committed); a refusal (nothing written) is returned."""
    if event.edge_id != edge:
        return _EdgeMismatch(EDGE_MISMATCH, field="edge_id")
    try:
        return await service.ingest(session=session, event=event, now_ms=now_ms)
    except RefusedEvent as exc:
        return exc


class _EdgeMismatch(Forbidden, RefusedEvent):
    reason = "edge_mismatch"


def _account(
    state: CloudState, event: EdgeEvent, result: Ingested, now_ms: int
) -> list[tuple[Incident, bool]]:
    """Metrics and logs of one stored event (after the commit); the incident to announce, if changed."""
    if result.duplicate:
        state.metrics.intake_events.labels("duplicate").inc()
        log.info("intake.duplicate key=%s", event.key)
        return []
    state.metrics.intake_events.labels("new").inc()
    state.metrics.edge_to_cloud_seconds.observe(max(0.0, (now_ms - event.edge_ts) / 1000))
    incident = result.incident
    if incident is None:
        return []
    if result.created:
        state.metrics.incidents_created.labels(incident.kind, incident.severity).inc()
        log.info(
            "incident.created id=%d key=%s kind=%s severity=%s notifications=%d",
            incident.id,
            event.key,
            incident.kind,
            incident.severity,
            result.notifications,
        )
    if result.notifications:
        state.outbox_wakeup.set()
    return [(incident, result.created)] if result.changed else []


async def _announce(state: CloudState, session: AsyncSession, changed: list[tuple[Incident, bool]]) -> None:
    await announce_incidents(session=session, hub=state.hub, changed=changed)
    for edge_id in {incident.edge_id for incident, _ in changed}:
        wake_edge(state.hub, edge_id)


def _refused(state: CloudState, reason: str, event: EdgeEvent) -> None:
    state.metrics.intake_events.labels("rejected").inc()
    state.metrics.intake_refused.labels(reason).inc()
    log.warning(
        "intake.refused reason=%s edge=%s device=%s kind=%s",
        reason,
        event.edge_id,
        event.device_id,
        event.kind.value,
    )


async def _ingest_once(event: EdgeEvent, session: SessionDep, now_ms: int) -> Ingested:
    """Ingest and commit; a unique-constraint race is rolled back and retried (then it is a duplicate)."""
    for _ in range(ATTEMPTS):
        try:
            result = await service.ingest(session=session, event=event, now_ms=now_ms)
            if not result.duplicate:
                await session.commit()
            return result
        except IntegrityError:
            await session.rollback()
            log.info("intake.race key=%s", event.key)
    raise Conflict("the event collided with concurrent writes; retry", field="key")
