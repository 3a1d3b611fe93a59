"""Incident routes for logged-in operators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cloud.deps import ClockDep, OperatorDep, SessionDep, StateDep
from cloud.incidents import service
from cloud.incidents.lifecycle import CLOSED_STATUSES, OPEN_STATUSES, IncidentKind
from cloud.incidents.models import Incident
from cloud.incidents.presentation import incident_detail, incident_items
from cloud.incidents.schemas import (
    AcknowledgeIn,
    DispatchIn,
    IncidentDetail,
    IncidentItem,
    NoteIn,
    ResolveIn,
    StatusFilter,
)
from cloud.live.broadcast import announce_incident, wake_edge
from cloud.state import CloudState

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])

STATUSES = {StatusFilter.OPEN: OPEN_STATUSES, StatusFilter.CLOSED: CLOSED_STATUSES, StatusFilter.ALL: None}


@router.get("")
async def list_incidents(
    session: SessionDep,
    _op: OperatorDep,
    status: StatusFilter = StatusFilter.OPEN,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    kind: IncidentKind | None = None,
) -> list[IncidentItem]:
    statuses = STATUSES[status]
    incidents = await service.list_incidents(
        session=session,
        statuses=sorted(statuses) if statuses is not None else None,
        kind=kind.value if kind is not None else None,
        limit=limit,
    )
    return await incident_items(session=session, incidents=incidents)


@router.get("/{incident_id}")
async def get_incident(incident_id: int, session: SessionDep, _op: OperatorDep) -> IncidentDetail:
    incident = await service.get_incident(session=session, incident_id=incident_id)
    return await incident_detail(session=session, incident=incident)


async def _finish(state: CloudState, session: SessionDep, incident: Incident) -> IncidentDetail:
    """Commit the unit of work once, then announce the change."""
    await session.commit()
    state.metrics.incident_transitions.labels(incident.status).inc()
    await announce_incident(session=session, hub=state.hub, incident=incident, created=False)
    wake_edge(state.hub, incident.edge_id)
    return await incident_detail(session=session, incident=incident)


@router.post("/{incident_id}/acknowledge")
async def acknowledge(
    incident_id: int,
    body: AcknowledgeIn,
    *,
    session: SessionDep,
    state: StateDep,
    now: ClockDep,
    operator: OperatorDep,
) -> IncidentDetail:
    incident = await service.acknowledge(
        session=session, incident_id=incident_id, operator=operator, eta_min=body.eta_min, now_ms=now()
    )
    return await _finish(state, session, incident)


@router.post("/{incident_id}/dispatch")
async def dispatch(
    incident_id: int,
    body: DispatchIn,
    *,
    session: SessionDep,
    state: StateDep,
    now: ClockDep,
    operator: OperatorDep,
) -> IncidentDetail:
    incident = await service.dispatch(
        session=session, incident_id=incident_id, operator=operator, responder=body.responder, now_ms=now()
    )
    return await _finish(state, session, incident)


@router.post("/{incident_id}/resolve")
async def resolve(
    incident_id: int,
    body: ResolveIn,
    *,
    session: SessionDep,
    state: StateDep,
    now: ClockDep,
    operator: OperatorDep,
) -> IncidentDetail:
    incident = await service.resolve(
        session=session, incident_id=incident_id, operator=operator, outcome=body.outcome, now_ms=now()
    )
    return await _finish(state, session, incident)


@router.post("/{incident_id}/false-alarm")
async def false_alarm(
    incident_id: int, session: SessionDep, state: StateDep, now: ClockDep, operator: OperatorDep
) -> IncidentDetail:
    incident = await service.mark_false_alarm(
        session=session, incident_id=incident_id, operator=operator, now_ms=now()
    )
    return await _finish(state, session, incident)


@router.post("/{incident_id}/notes", status_code=201)
async def add_note(
    incident_id: int,
    body: NoteIn,
    *,
    session: SessionDep,
    state: StateDep,
    now: ClockDep,
    operator: OperatorDep,
) -> IncidentDetail:
    incident = await service.add_note(
        session=session, incident_id=incident_id, operator=operator, text=body.text, now_ms=now()
    )
    await session.commit()
    await announce_incident(session=session, hub=state.hub, incident=incident, created=False)
    return await incident_detail(session=session, incident=incident)
