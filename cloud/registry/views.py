"""Registry routes: subjects, devices, guardians (operators) and the edge's device snapshot (edges)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request

from cloud.deps import ClockDep, EdgeDep, OperatorDep, SessionDep
from cloud.errors import Forbidden, InvalidInput
from cloud.registry import care_plans, service
from cloud.registry.schemas import (
    CarePlanOut,
    DeviceCreated,
    DeviceIn,
    DeviceOut,
    DeviceSecret,
    EdgeDevice,
    GuardianIn,
    GuardianOut,
    StreetOut,
    SubjectIn,
    SubjectOut,
)
from contracts.care_plan import CarePlan
from contracts.codec import unknown_fields

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["registry"])

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


@router.get("/streets")
async def list_streets(session: SessionDep, _op: OperatorDep) -> list[StreetOut]:
    return await service.list_streets(session=session)


@router.get("/subjects")
async def list_subjects(
    session: SessionDep,
    _op: OperatorDep,
    limit: Limit = 100,
    offset: Offset = 0,
    community_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[SubjectOut]:
    return await service.list_subjects(session=session, limit=limit, offset=offset, community_id=community_id)


@router.post("/subjects", status_code=201)
async def create_subject(body: SubjectIn, session: SessionDep, now: ClockDep, _op: OperatorDep) -> SubjectOut:
    subject = await service.create_subject(session=session, data=body, now_ms=now())
    await session.commit()
    return subject


@router.get("/subjects/{subject_id}")
async def get_subject(subject_id: int, session: SessionDep, _op: OperatorDep) -> SubjectOut:
    return await service.get_subject(session=session, subject_id=subject_id)


@router.get("/subjects/{subject_id}/guardians")
async def list_guardians(subject_id: int, session: SessionDep, _op: OperatorDep) -> list[GuardianOut]:
    return await service.list_guardians(session=session, subject_id=subject_id)


@router.post("/subjects/{subject_id}/guardians", status_code=201)
async def create_guardian(
    subject_id: int, body: GuardianIn, session: SessionDep, now: ClockDep, _op: OperatorDep
) -> GuardianOut:
    guardian = await service.create_guardian(session=session, subject_id=subject_id, data=body, now_ms=now())
    await session.commit()
    return guardian


@router.get("/devices")
async def list_devices(
    session: SessionDep,
    _op: OperatorDep,
    limit: Limit = 100,
    offset: Offset = 0,
    edge_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[DeviceOut]:
    return await service.list_devices(session=session, limit=limit, offset=offset, edge_id=edge_id)


@router.post("/devices", status_code=201)
async def create_device(body: DeviceIn, session: SessionDep, now: ClockDep, op: OperatorDep) -> DeviceCreated:
    device = await service.create_device(session=session, data=body, now_ms=now())
    await session.commit()
    log.info("device.registered device=%s edge=%s operator=%s", device.device_id, device.edge_id, op)
    return device


@router.post("/devices/{device_id}/secret")
async def rotate_device_secret(device_id: str, session: SessionDep, op: OperatorDep) -> DeviceSecret:
    secret = await service.rotate_device_secret(session=session, device_id=device_id)
    await session.commit()
    log.info("device.secret_rotated device=%s operator=%s", device_id, op)
    return secret


@router.get("/edges/{edge_id}/devices")
async def edge_devices(edge_id: str, session: SessionDep, edge: EdgeDep) -> list[EdgeDevice]:
    if edge != edge_id:
        raise Forbidden("this token belongs to another edge", field="edge_id")
    return await care_plans.edge_devices(session=session, edge_id=edge_id)


@router.get("/subjects/{subject_id}/care-plan")
async def get_care_plan(subject_id: int, session: SessionDep, _op: OperatorDep) -> CarePlanOut:
    return await care_plans.get_care_plan(session=session, subject_id=subject_id)


@router.put("/subjects/{subject_id}/care-plan")
async def put_care_plan(
    subject_id: int, body: CarePlan, request: Request, *, session: SessionDep, now: ClockDep, op: OperatorDep
) -> CarePlanOut:
    unknown = unknown_fields(body, await request.json())
    if unknown:  # contract models ignore unknown fields; an operator's typo must not vanish silently
        raise InvalidInput("unknown field in the care plan", field=unknown[0])
    plan = await care_plans.put_care_plan(session=session, subject_id=subject_id, plan=body, now_ms=now())
    await session.commit()
    log.info("care_plan.updated subject_id=%d fences=%d operator=%s", subject_id, len(body.fences), op)
    return plan
