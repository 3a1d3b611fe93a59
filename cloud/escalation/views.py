"""The auditor's view of escalations: steps that are late (the scheduler is behind)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from cloud.deps import SessionDep, StaffDep, StateDep
from cloud.escalation import service

router = APIRouter(prefix="/api/v1/escalations", tags=["escalation"])


class LateStepOut(BaseModel):
    incident_id: int
    action: str
    due_at: int
    late_ms: int


@router.get("/late")
async def late_steps(session: SessionDep, state: StateDep, staff: StaffDep) -> list[LateStepOut]:
    """Every pending step of an incident in the caller's streets overdue by more than the grace."""
    rows = await service.late_steps(
        session=session,
        now_ms=state.now_ms(),
        grace_ms=round(state.settings.escalation_late_grace_s * 1000),
        streets=staff.streets,
    )
    return [
        LateStepOut(incident_id=r.incident_id, action=r.action, due_at=r.due_at, late_ms=r.late_ms)
        for r in rows
    ]
