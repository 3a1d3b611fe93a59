"""Response plans (supervisors edit them), the incident checklist and audited reveals (staff in scope)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query

from cloud.deps import ClockDep, SessionDep, StaffDep, StateDep, SupervisorDep
from cloud.incidents.scope import visible_incident
from cloud.live.broadcast import announce_incident
from cloud.plans import service
from cloud.plans.schemas import ResponsePlan, ResponsePlanOut, RevealAuditOut, RevealIn, RevealOut
from cloud.registry.scope import check_subject_visible

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["response plans"])


@router.get("/subjects/{subject_id}/response-plan")
async def get_response_plan(subject_id: int, session: SessionDep, staff: SupervisorDep) -> ResponsePlan:
    """The whole plan, numbers and notes included: for the supervisors who keep it up to date."""
    await check_subject_visible(session=session, streets=staff.streets, subject_id=subject_id)
    plan, _ = await service.get_plan(session=session, subject_id=subject_id)
    return plan


@router.put("/subjects/{subject_id}/response-plan")
async def put_response_plan(
    subject_id: int, body: ResponsePlan, session: SessionDep, now: ClockDep, staff: SupervisorDep
) -> ResponsePlan:
    await check_subject_visible(session=session, streets=staff.streets, subject_id=subject_id)
    await service.put_plan(session=session, subject_id=subject_id, plan=body, by=staff.username, now_ms=now())
    await session.commit()
    log.info("response_plan.updated subject_id=%d by=%s", subject_id, staff.username)
    return body


@router.get("/incidents/{incident_id}/response-plan")
async def incident_response_plan(incident_id: int, session: SessionDep, staff: StaffDep) -> ResponsePlanOut:
    """The person's plan as a checklist for this incident: numbers masked, ticks from the timeline."""
    incident = await visible_incident(session=session, staff=staff, incident_id=incident_id)
    return await service.incident_plan(session=session, incident=incident)


@router.post("/incidents/{incident_id}/checklist/{item_id}")
async def tick_checklist(
    incident_id: int, item_id: str, *, session: SessionDep, state: StateDep, now: ClockDep, staff: StaffDep
) -> ResponsePlanOut:
    incident = await visible_incident(session=session, staff=staff, incident_id=incident_id, for_update=True)
    await service.tick(session=session, incident=incident, item_id=item_id, staff=staff, now_ms=now())
    await session.commit()
    await announce_incident(session=session, hub=state.hub, incident=incident, created=False)
    return await service.incident_plan(session=session, incident=incident)


@router.post("/incidents/{incident_id}/reveal")
async def reveal(
    incident_id: int, body: RevealIn, *, session: SessionDep, state: StateDep, now: ClockDep, staff: StaffDep
) -> RevealOut:
    """One full value (number, address, medical notes, a child's location): audited, on the timeline."""
    incident = await visible_incident(session=session, staff=staff, incident_id=incident_id)
    value, record = await service.reveal(
        session=session, incident=incident, staff=staff, field=body.field, now_ms=now()
    )
    await session.commit()
    await announce_incident(session=session, hub=state.hub, incident=incident, created=False)  # timeline
    log.info("reveal incident=%d field=%s staff_id=%d", incident_id, body.field, staff.id)
    return RevealOut(field=body.field, value=value, audit_id=record.id)


@router.get("/audit/reveals")
async def reveal_audit(
    session: SessionDep,
    staff: SupervisorDep,
    subject_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[RevealAuditOut]:
    rows = await service.reveal_audit(
        session=session, streets=staff.streets, subject_id=subject_id, limit=limit
    )
    return [
        RevealAuditOut(
            id=r.id,
            at=r.at,
            username=r.username,
            subject_id=r.subject_id,
            incident_id=r.incident_id,
            field=r.field,
        )
        for r in rows
    ]
