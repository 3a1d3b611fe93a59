"""Care-plan service: keyword-only functions taking the session. They flush; callers commit."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.errors import NotFound
from cloud.registry.models import CarePlanRecord, Device, Guardian, Subject, mask_name
from cloud.registry.schemas import CarePlanOut, EdgeDevice
from contracts.care_plan import DEFAULT_CARE_PLAN, CarePlan
from contracts.guardians import GuardianContact


def _parse(text: str) -> CarePlan:
    """A stored plan; one that no longer validates (schema tightened since) falls back to the defaults."""
    try:
        return CarePlan.model_validate_json(text)
    except ValidationError:
        return DEFAULT_CARE_PLAN


def _out(subject_id: int, plan: CarePlan, updated_at: int | None) -> CarePlanOut:
    return CarePlanOut(**plan.model_dump(), subject_id=subject_id, updated_at=updated_at)


async def get_care_plan(*, session: AsyncSession, subject_id: int) -> CarePlanOut:
    if await session.get(Subject, subject_id) is None:
        raise NotFound(f"no subject {subject_id}", field="subject_id")
    record = await session.get(CarePlanRecord, subject_id)
    if record is None:
        return _out(subject_id, DEFAULT_CARE_PLAN, None)
    return _out(subject_id, _parse(record.plan), record.updated_at)


async def put_care_plan(
    *, session: AsyncSession, subject_id: int, plan: CarePlan, now_ms: int
) -> CarePlanOut:
    """Replace the subject's plan; the edges pick it up with their next registry snapshot."""
    if await session.get(Subject, subject_id) is None:
        raise NotFound(f"no subject {subject_id}", field="subject_id")
    text = plan.model_dump_json()
    record = await session.get(CarePlanRecord, subject_id)
    if record is None:
        session.add(CarePlanRecord(subject_id=subject_id, plan=text, updated_at=now_ms))
    else:
        record.plan, record.updated_at = text, now_ms
    await session.flush()
    return _out(subject_id, plan, now_ms)


async def edge_devices(*, session: AsyncSession, edge_id: str) -> list[EdgeDevice]:
    """The edge's registry snapshot: every device it serves, with its subject's care plan, masked name
    and guardians (for the edge's own SMS when the center cannot be reached)."""
    rows = (
        await session.execute(
            select(Device, CarePlanRecord.plan, Subject.display_name)
            .join(Subject, Subject.id == Device.subject_id)
            .outerjoin(CarePlanRecord, CarePlanRecord.subject_id == Device.subject_id)
            .where(Device.edge_id == edge_id)
            .order_by(Device.device_id)
        )
    ).all()
    subject_ids = {device.subject_id for device, _, _ in rows}
    guardians: dict[int, list[GuardianContact]] = {}
    if subject_ids:
        found = await session.scalars(
            select(Guardian)
            .where(Guardian.subject_id.in_(subject_ids))
            .order_by(Guardian.subject_id, Guardian.priority, Guardian.id)
        )
        for g in found:
            guardians.setdefault(g.subject_id, []).append(
                GuardianContact(
                    guardian_id=g.id,
                    phone=g.phone,
                    language="en" if g.language.startswith("en") else "zh",
                    priority=g.priority,
                )
            )
    parsed: dict[str, CarePlan] = {}  # one parse per distinct plan text (a person has several devices)
    snapshot = []
    for device, text, display_name in rows:
        plan = DEFAULT_CARE_PLAN if text is None else parsed.setdefault(text, _parse(text))
        snapshot.append(
            EdgeDevice(
                device_id=device.device_id,
                kind=device.kind,
                subject_id=device.subject_id,
                care_plan=plan,
                hub_id=device.hub_id,
                room=device.room,
                masked_name=mask_name(display_name),
                guardians=guardians.get(device.subject_id, []),
            )
        )
    return snapshot
