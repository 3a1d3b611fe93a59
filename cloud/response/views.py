"""Incident routes for signed-in staff: each sees only incidents in their streets (404 otherwise).

Every action takes the row lock first, checks the ``version`` the operator saw and who owns the
incident, then changes it: two operators acting at once get a clear 409, never a silent overwrite.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cloud.auth.access import Staff
from cloud.deps import ClockDep, SessionDep, StaffDep, StateDep
from cloud.escalation.effects import Effects
from cloud.incidents import ownership, scope
from cloud.incidents import service as incident_queries
from cloud.incidents.lifecycle import CLOSED_STATUSES, OPEN_STATUSES, IncidentKind
from cloud.incidents.models import Incident
from cloud.incidents.presentation import incident_items
from cloud.incidents.schemas import (
    AcknowledgeIn,
    AssignIn,
    DispatchIn,
    HandoverIn,
    HandoverOut,
    IncidentDetail,
    IncidentItem,
    NoteIn,
    ResolveIn,
    StatusFilter,
    Versioned,
)
from cloud.live.broadcast import announce_incident, wake_edge
from cloud.response import service
from cloud.response.detail import incident_detail
from cloud.state import CloudState

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])

STATUSES = {StatusFilter.OPEN: OPEN_STATUSES, StatusFilter.CLOSED: CLOSED_STATUSES, StatusFilter.ALL: None}


@router.get("")
async def list_incidents(
    session: SessionDep,
    staff: StaffDep,
    status: StatusFilter = StatusFilter.OPEN,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    kind: IncidentKind | None = None,
) -> list[IncidentItem]:
    statuses = STATUSES[status]
    incidents = await incident_queries.list_incidents(
        session=session,
        statuses=sorted(statuses) if statuses is not None else None,
        kind=kind.value if kind is not None else None,
        limit=limit,
        streets=staff.street_filter(),
    )
    return await incident_items(session=session, incidents=incidents)


@router.get("/{incident_id}")
async def get_incident(incident_id: int, session: SessionDep, staff: StaffDep) -> IncidentDetail:
    incident = await scope.visible_incident(session=session, staff=staff, incident_id=incident_id)
    return await incident_detail(session=session, incident=incident)


async def _locked(
    session: SessionDep, staff: Staff, incident_id: int, body: Versioned | None, *, owner_only: bool = True
) -> Incident:
    """The incident, row-locked, once the caller may act on it (scope, version, owner)."""
    incident = await scope.visible_incident(
        session=session, staff=staff, incident_id=incident_id, for_update=True
    )
    ownership.check_version(incident, body.version if body is not None else None)
    if owner_only:
        ownership.check_owner(incident, staff)
    return incident


async def _finish(
    state: CloudState, session: SessionDep, incident: Incident, effects: Effects | None = None
) -> IncidentDetail:
    """Commit the unit of work once, then announce the change (and what the escalation asks for)."""
    ownership.bump(incident)
    await session.commit()
    state.metrics.incident_transitions.labels(incident.status).inc()
    await announce_incident(session=session, hub=state.hub, incident=incident, created=False)
    wake_edge(state.hub, incident.edge_id)
    if effects:
        await effects.publish(session=session, hub=state.hub, outbox_wakeup=state.outbox_wakeup)
        state.escalation_wakeup.set()
    return await incident_detail(session=session, incident=incident)


@router.post("/{incident_id}/acknowledge")
async def acknowledge(
    incident_id: int,
    body: AcknowledgeIn,
    *,
    session: SessionDep,
    state: StateDep,
    now: ClockDep,
    staff: StaffDep,
) -> IncidentDetail:
    """Claim the incident: the operator becomes its owner (``a`` on the console)."""
    incident = await _locked(session, staff, incident_id, body, owner_only=False)
    ownership.check_claimable(incident)
    effects = Effects()
    incident = await service.acknowledge(
        session=session,
        incident_id=incident_id,
        operator=staff.username,
        eta_min=body.eta_min,
        now_ms=now(),
        effects=effects,
    )
    return await _finish(state, session, incident, effects)


@router.post("/{incident_id}/dispatch")
async def dispatch(
    incident_id: int,
    body: DispatchIn,
    *,
    session: SessionDep,
    state: StateDep,
    now: ClockDep,
    staff: StaffDep,
) -> IncidentDetail:
    await _locked(session, staff, incident_id, body)
    incident = await service.dispatch(
        session=session,
        incident_id=incident_id,
        operator=staff.username,
        responder=body.responder,
        now_ms=now(),
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
    staff: StaffDep,
) -> IncidentDetail:
    await _locked(session, staff, incident_id, body)
    effects = Effects()
    incident = await service.resolve(
        session=session,
        incident_id=incident_id,
        operator=staff.username,
        outcome=body.outcome,
        now_ms=now(),
        effects=effects,
    )
    return await _finish(state, session, incident, effects)


@router.post("/{incident_id}/false-alarm")
async def false_alarm(
    incident_id: int,
    *,
    session: SessionDep,
    state: StateDep,
    now: ClockDep,
    staff: StaffDep,
    body: Versioned | None = None,
) -> IncidentDetail:
    await _locked(session, staff, incident_id, body)
    effects = Effects()
    incident = await service.mark_false_alarm(
        session=session, incident_id=incident_id, operator=staff.username, now_ms=now(), effects=effects
    )
    return await _finish(state, session, incident, effects)


@router.post("/{incident_id}/assign")
async def assign(
    incident_id: int,
    body: AssignIn,
    *,
    session: SessionDep,
    state: StateDep,
    now: ClockDep,
    staff: StaffDep,
) -> IncidentDetail:
    """Reassign (supervisor) or hand over (the owner) one incident."""
    incident = await _locked(session, staff, incident_id, body, owner_only=False)
    await ownership.assign(session=session, incident=incident, staff=staff, to=body.to, now_ms=now())
    return await _finish(state, session, incident)


@router.post("/handover")
async def handover(
    body: HandoverIn, *, session: SessionDep, state: StateDep, now: ClockDep, staff: StaffDep
) -> HandoverOut:
    """Shift change: every open incident the caller owns goes to ``to``."""
    moved = []
    for incident in await ownership.open_owned_by(session=session, username=staff.username):
        await ownership.assign(
            session=session, incident=incident, staff=staff, to=body.to, now_ms=now(), handover=True
        )
        moved.append(incident)
    await session.commit()
    for incident in moved:
        await announce_incident(session=session, hub=state.hub, incident=incident, created=False)
    return HandoverOut(to=body.to, incident_ids=[i.id for i in moved])


@router.post("/{incident_id}/notes", status_code=201)
async def add_note(
    incident_id: int,
    body: NoteIn,
    *,
    session: SessionDep,
    state: StateDep,
    now: ClockDep,
    staff: StaffDep,
) -> IncidentDetail:
    await _locked(session, staff, incident_id, body, owner_only=False)
    incident = await service.add_note(
        session=session, incident_id=incident_id, operator=staff.username, text=body.text, now_ms=now()
    )
    await session.commit()
    await announce_incident(session=session, hub=state.hub, incident=incident, created=False)
    return await incident_detail(session=session, incident=incident)
