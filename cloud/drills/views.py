"""``POST /api/v1/drills``: put a device in drill mode (supervisors); ``GET``: the recent drills."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from cloud.deps import ClockDep, SessionDep, SupervisorDep
from cloud.drills import service
from cloud.drills.models import DrillRecord
from contracts.ids import DeviceId

router = APIRouter(prefix="/api/v1/drills", tags=["drills"])


class DrillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_id: DeviceId
    minutes: Annotated[int, Field(ge=1, le=120)] = 15


class DrillOut(BaseModel):
    id: int
    device_id: str
    started_by: str
    started_at: int
    expires_at: int
    incident_id: int | None


def _out(record: DrillRecord) -> DrillOut:
    return DrillOut(
        id=record.id,
        device_id=record.device_id,
        started_by=record.started_by,
        started_at=record.started_at,
        expires_at=record.expires_at,
        incident_id=record.incident_id,
    )


@router.post("", status_code=201)
async def start_drill(body: DrillIn, session: SessionDep, now: ClockDep, staff: SupervisorDep) -> DrillOut:
    """The device's next alarm within ``minutes`` is a drill: end to end, marked, out of the figures."""
    record = await service.start_drill(
        session=session,
        device_id=body.device_id,
        streets=staff.streets,
        by=staff.username,
        minutes=body.minutes,
        now_ms=now(),
    )
    await session.commit()
    return _out(record)


@router.get("")
async def list_drills(session: SessionDep, _staff: SupervisorDep) -> list[DrillOut]:
    return [_out(r) for r in await service.list_drills(session=session)]
