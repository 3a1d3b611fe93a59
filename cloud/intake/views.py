"""``POST /api/v1/intake/events`` (one event) and ``POST /api/v1/intake/events/batch`` (a draining
gateway's backlog, one transaction): the edge's alarm events (contracts/intake.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.deps import authenticated_edge, get_state
from cloud.errors import Conflict, Forbidden
from cloud.http_errors import status_of
from cloud.incidents.models import Incident
from cloud.incidents.presentation import incident_items
from cloud.incidents.schemas import IncidentItem
from cloud.intake import service
from cloud.intake.service import Ingested, RefusedEvent
from cloud.live.broadcast import publish_incidents, wake_edge
from cloud.registry.schemas import SubjectSummary
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


@dataclass(frozen=True, slots=True)
class EdgeCaller:
    state: CloudState
    edge_id: str  # the gateway whose bearer token the request carries


async def edge_caller(request: Request) -> EdgeCaller:
    """The app state and the calling gateway (401 without its token) as one dependency, and the session
    opened by the route: FastAPI's dependency solving cost the single-event route ≈ 0.25 ms CPU per request
    with the four dependencies it had (state, session, clock, edge), measured in-process."""
    state = await get_state(request)
    return EdgeCaller(state=state, edge_id=await authenticated_edge(request, state))


CallerDep = Annotated[EdgeCaller, Depends(edge_caller)]
Presented = tuple[IncidentItem, bool]  # an incident as the operators see it, and whether it is new
EDGE_MISMATCH = "edge_id does not match the bearer token"


@router.post(
    INTAKE_PATH,
    status_code=201,
    response_model=IntakeAck,
    responses={200: {"model": IntakeAck, "description": "duplicate"}},
)
async def post_event(event: EdgeEvent, caller: CallerDep) -> Response:
    # the answer is built here (the bytes FastAPI would send for the IntakeAck; no docstring: it would
    # show in the API docs): the framework's validation and serialisation of it cost ≈ 0.05 ms CPU
    state, edge = caller.state, caller.edge_id
    if event.edge_id != edge:
        _refused(state, "edge_mismatch", event)
        raise Forbidden(EDGE_MISMATCH, field="edge_id")
    async with state.db.sessions() as session:  # one unit of work; rolled back on exit unless committed
        try:
            result, presented = await _ingest_once(event, session, state.now_ms(), state)
        except RefusedEvent as exc:  # nothing was written
            _refused(state, exc.reason, event)
            raise
        _account(state, event, result, state.now_ms())
        await _publish(state, session, presented, [result])
    ack = IntakeAck(key=event.key, incident_id=result.incident_id, duplicate=result.duplicate)
    return Response(
        ack.model_dump_json(),
        status_code=200 if result.duplicate else 201,
        media_type="application/json",
    )


@router.post(INTAKE_BATCH_PATH, status_code=200)
async def post_events(batch: IntakeBatch, caller: CallerDep) -> IntakeBatchAck:
    """Each event stored exactly as ``POST /events`` would, in the order given, in one transaction; the
    answer holds each event's own status. A write race rolls the whole batch back and runs it again (what
    the racer stored is then a duplicate); after ``ATTEMPTS`` every event is answered 409 (retry)."""
    state = caller.state
    async with state.db.sessions() as session:  # one unit of work; rolled back on exit unless committed
        return await _store_batch(batch, session=session, state=state, now=state.now_ms, edge=caller.edge_id)


async def _store_batch(
    batch: IntakeBatch, *, session: AsyncSession, state: CloudState, now: Callable[[], int], edge: str
) -> IntakeBatchAck:
    """The batch route's work inside its unit of work."""
    now_ms = now()
    for _ in range(ATTEMPTS):
        try:
            outcomes = [await _ingest_in_batch(event, edge, session, now_ms, state) for event in batch.events]
            presented = await _present(session, outcomes)
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
    for event, outcome in zip(batch.events, outcomes, strict=True):
        if isinstance(outcome, RefusedEvent):
            _refused(state, outcome.reason, event)
            results.append(IntakeResult(key=event.key, status=status_of(outcome), error=str(outcome)))
            continue
        _account(state, event, outcome, now_ms)
        results.append(
            IntakeResult(
                key=event.key,
                status=200 if outcome.duplicate else 201,
                incident_id=outcome.incident_id,
                duplicate=outcome.duplicate,
            )
        )
    await _publish(state, session, presented, outcomes)
    return IntakeBatchAck(results=results)


async def _ingest_in_batch(
    event: EdgeEvent, edge: str, session: AsyncSession, now_ms: int, state: CloudState
) -> Ingested | RefusedEvent:
    """One event of a batch (flushed, not committed); a refusal (nothing written) is returned."""
    if event.edge_id != edge:
        return _EdgeMismatch(EDGE_MISMATCH, field="edge_id")
    try:
        return await service.ingest(session=session, event=event, now_ms=now_ms, policies=state.policies)
    except RefusedEvent as exc:
        return exc


class _EdgeMismatch(Forbidden, RefusedEvent):
    reason = "edge_mismatch"


def _account(state: CloudState, event: EdgeEvent, result: Ingested, now_ms: int) -> None:
    """Metrics and logs of one stored event (after the commit)."""
    if result.duplicate:
        state.metrics.intake_events.labels("duplicate").inc()
        log.info("intake.duplicate key=%s", event.key)
        return
    state.metrics.intake_events.labels("new").inc()
    state.metrics.edge_to_cloud_seconds.observe(max(0.0, (now_ms - event.edge_ts) / 1000))
    incident = result.incident
    if incident is None:
        return
    if result.created:
        state.metrics.incidents_created.labels(incident.kind, incident.severity).inc()
        log.info(
            "incident.created id=%d key=%s kind=%s severity=%s",
            incident.id,
            event.key,
            incident.kind,
            incident.severity,
        )


async def _present(session: AsyncSession, outcomes: Sequence[Ingested | RefusedEvent]) -> list[Presented]:
    """The operators' view of every incident the events changed (read before the commit, so the
    announcement costs no second transaction); an incident changed twice is presented once. A duplicate
    counts when it changed its incident (the edge texted guardians meanwhile: ``edge_notified``)."""
    changed: dict[int, tuple[Incident, bool]] = {}
    known: dict[int, SubjectSummary] = {}  # persons the events' joins already read
    for outcome in outcomes:
        if isinstance(outcome, RefusedEvent) or not outcome.changed:
            continue
        if outcome.incident is None:
            continue
        before = changed.get(outcome.incident.id)
        changed[outcome.incident.id] = (
            outcome.incident,
            outcome.created or (before is not None and before[1]),
        )
        if outcome.subject is not None:
            known[outcome.subject.id] = outcome.subject
    if not changed:
        return []
    items = await incident_items(session=session, incidents=[i for i, _ in changed.values()], known=known)
    return [(item, created) for item, (_, created) in zip(items, changed.values(), strict=True)]


async def _publish(
    state: CloudState,
    session: AsyncSession,
    presented: list[Presented],
    outcomes: Sequence[Ingested | RefusedEvent],
) -> None:
    """After the commit: the operators' stream; for each new event that changed an incident, the command
    stream of its gateway; the escalation loop when an event gave an incident new timers or cancelled them
    (an event that only joined an incident leaves its timers, so the loop's next wake-up stands); then each
    event's escalation effects."""
    publish_incidents(state.hub, presented)
    stored = [outcome for outcome in outcomes if not isinstance(outcome, RefusedEvent)]
    edges: set[str] = set()
    for outcome in stored:
        if not outcome.duplicate and outcome.changed and outcome.incident is not None:
            edges.add(outcome.incident.edge_id)
    for edge_id in sorted(edges):
        wake_edge(state.hub, edge_id)
    if any(outcome.timers_changed for outcome in stored):
        state.escalation_wakeup.set()
    for outcome in stored:
        if outcome.effects:
            await outcome.effects.publish(session=session, hub=state.hub, outbox_wakeup=state.outbox_wakeup)


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


async def _ingest_once(
    event: EdgeEvent, session: AsyncSession, now_ms: int, state: CloudState
) -> tuple[Ingested, list[Presented]]:
    """Ingest and commit (one transaction); a unique-constraint race is rolled back and retried (then it
    is a duplicate). Also the changed incident as the operators see it, read before the commit. A
    duplicate is committed only when it changed its incident (guardians the edge texted meanwhile)."""
    for _ in range(ATTEMPTS):
        try:
            result = await service.ingest(
                session=session, event=event, now_ms=now_ms, policies=state.policies
            )
            if result.duplicate and not result.changed:
                return result, []
            presented = await _present(session, [result])
            await session.commit()
            return result, presented
        except IntegrityError:
            await session.rollback()
            log.info("intake.race key=%s", event.key)
    raise Conflict("the event collided with concurrent writes; retry", field="key")
