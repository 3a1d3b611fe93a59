"""Response plans, the incident checklist and audited reveals. Functions flush; callers commit."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.access import Staff
from cloud.errors import InvalidInput, NotFound
from cloud.escalation.policy import Policy
from cloud.incidents.models import Incident
from cloud.phones import display_phone
from cloud.plans.models import ResponsePlanRecord, RevealRecord
from cloud.plans.schemas import ChecklistOut, PlanContact, ResponsePlan, ResponsePlanOut
from cloud.registry.models import Community, Guardian, Subject
from cloud.timeline.entries import add_entry, entries_of
from contracts.intake import Severity

TICKED = "checklist_ticked"


async def get_plan(
    *, session: AsyncSession, subject_id: int
) -> tuple[ResponsePlan, ResponsePlanRecord | None]:
    record = await session.get(ResponsePlanRecord, subject_id)
    if record is None:
        return ResponsePlan(), None
    try:
        return ResponsePlan.model_validate_json(record.plan), record
    except ValidationError:  # a plan stored under an older, looser schema: the defaults apply
        return ResponsePlan(), record


async def put_plan(
    *, session: AsyncSession, subject_id: int, plan: ResponsePlan, by: str, now_ms: int
) -> ResponsePlanRecord:
    if await session.get(Subject, subject_id) is None:
        raise NotFound(f"no subject {subject_id}", field="subject_id")
    record = await session.get(ResponsePlanRecord, subject_id)
    text = plan.model_dump_json()
    if record is None:
        record = ResponsePlanRecord(subject_id=subject_id, plan=text, updated_at=now_ms, updated_by=by)
        session.add(record)
    else:
        record.plan, record.updated_at, record.updated_by = text, now_ms, by
    await session.flush()
    return record


async def policy_overrides(*, session: AsyncSession, subject_id: int) -> dict[Severity, Policy]:
    """The person's own escalation policies (empty: the center's apply)."""
    plan, _ = await get_plan(session=session, subject_id=subject_id)
    return dict(plan.escalation)


def _contact_item(item_id: str, verb: str, contact: PlanContact) -> ChecklistOut:
    return ChecklistOut(
        id=item_id,
        label=f"{verb} {contact.label}",
        phone_masked=display_phone(contact.phone),
        reveal_field=f"phone:{item_id}",
    )


def checklist_items(plan: ResponsePlan, guardians: list[Guardian]) -> list[ChecklistOut]:
    """The plan as steps in order: call list (or the guardians), key-safe holder, community worker,
    the 120 crew's notes, and the plan's own extra steps."""
    items = [_contact_item(f"call_{i}", "致电 Call", c) for i, c in enumerate(plan.call_order)]
    if not plan.call_order:
        items += [
            ChecklistOut(
                id=f"guardian_{g.id}",
                label=f"致电 Call {g.relation}",
                phone_masked=display_phone(g.phone),
                reveal_field=f"phone:guardian_{g.id}",
            )
            for g in guardians
        ]
    if plan.home_phone is not None:
        items.append(
            ChecklistOut(
                id="home_phone",
                label="致电家中座机 Call the home phone",
                phone_masked=display_phone(plan.home_phone),
                reveal_field="phone:home",
            )
        )
    if plan.key_safe_holder is not None:
        items.append(_contact_item("key_safe", "钥匙保管人 Key-safe holder", plan.key_safe_holder))
    if plan.community_worker is not None:
        items.append(
            _contact_item("community_worker", "社区工作人员 Community worker", plan.community_worker)
        )
    if plan.medical_notes:
        items.append(
            ChecklistOut(
                id="medical_notes", label="向120说明病史 Brief the 120 crew", reveal_field="medical_notes"
            )
        )
    items += [ChecklistOut(id=i.id, label=i.label) for i in plan.extra_steps]
    return items


async def _guardians(session: AsyncSession, subject_id: int) -> list[Guardian]:
    rows = await session.scalars(
        select(Guardian).where(Guardian.subject_id == subject_id).order_by(Guardian.priority, Guardian.id)
    )
    return list(rows.all())


def _subject_of(incident: Incident) -> int:
    """The incident's person; an unassigned alarm (unregistered device) has none, so no plan."""
    if incident.subject_id is None:
        raise NotFound(
            "this alarm comes from an unregistered device: there is no person, so no response plan"
            " / 未登记设备的警情没有应急预案",
            field="incident_id",
        )
    return incident.subject_id


async def incident_plan(*, session: AsyncSession, incident: Incident) -> ResponsePlanOut:
    subject_id = _subject_of(incident)
    plan, record = await get_plan(session=session, subject_id=subject_id)
    items = checklist_items(plan, await _guardians(session, subject_id))
    ticks = {
        str(e.data.get("item")): e
        for e in await entries_of(session=session, incident_id=incident.id)
        if e.type == TICKED
    }
    for item in items:
        tick = ticks.get(item.id)
        if tick is not None:
            item.ticked_by, item.ticked_at = tick.actor, tick.at
    return ResponsePlanOut(
        subject_id=subject_id,
        checklist=items,
        has_medical_notes=bool(plan.medical_notes),
        escalation=plan.escalation,
        updated_at=record.updated_at if record else None,
        updated_by=record.updated_by if record else None,
    )


async def tick(*, session: AsyncSession, incident: Incident, item_id: str, staff: Staff, now_ms: int) -> bool:
    """Tick one step of the incident's checklist (on the timeline); False if it was already ticked."""
    out = await incident_plan(session=session, incident=incident)
    item = next((i for i in out.checklist if i.id == item_id), None)
    if item is None:
        raise NotFound(f"no checklist step {item_id!r} for this incident", field="item_id")
    if item.ticked_at is not None:
        return False
    add_entry(
        session, incident.id, at=now_ms, type_=TICKED, actor=staff.username, text=item.label, item=item_id
    )
    incident.updated_at = now_ms
    await session.flush()
    return True


async def _value_of(session: AsyncSession, incident: Incident, field: str) -> str:
    subject = await session.get(Subject, _subject_of(incident))
    if subject is None:
        raise NotFound("no such subject", field="field")
    plan, _ = await get_plan(session=session, subject_id=subject.id)
    if field == "name":
        return subject.display_name
    if field == "address":
        return subject.address
    if field == "care_notes":
        return subject.care_notes
    if field == "medical_notes":
        return plan.medical_notes
    if field == "location":
        if incident.last_lat is None or incident.last_lon is None:
            raise NotFound("this incident has no location", field="field")
        return f"{incident.last_lat:.6f},{incident.last_lon:.6f}"
    kind, _, rest = field.partition(":")
    if kind == "phone":
        if rest == "home" and plan.home_phone is not None:
            return plan.home_phone
        if rest == "device" and incident.device_id in plan.device_phones:
            return plan.device_phones[incident.device_id]
        if rest.startswith("guardian_") and rest[9:].isdigit():
            guardian = await session.get(Guardian, int(rest[9:]))
            if guardian is not None and guardian.subject_id == subject.id:
                return guardian.phone
        elif rest.startswith("call_") and rest[5:].isdigit() and int(rest[5:]) < len(plan.call_order):
            return plan.call_order[int(rest[5:])].phone
        elif rest == "key_safe" and plan.key_safe_holder is not None:
            return plan.key_safe_holder.phone
        elif rest == "community_worker" and plan.community_worker is not None:
            return plan.community_worker.phone
    raise InvalidInput("nothing to reveal under this name", field="field")


async def phone_of(*, session: AsyncSession, incident: Incident, field: str) -> str:
    """The full number a ``phone:…`` field names, for a click-to-call: not shown, so not audited."""
    if not field.startswith("phone:"):
        raise InvalidInput("only a phone number can be called", field="target")
    return await _value_of(session, incident, field)


async def reveal(
    *, session: AsyncSession, incident: Incident, staff: Staff, field: str, now_ms: int
) -> tuple[str, RevealRecord]:
    """The full value of one personal field, and its audit record (who, when, which field)."""
    value = await _value_of(session, incident, field)
    record = RevealRecord(
        at=now_ms,
        staff_id=staff.id,
        username=staff.username,
        subject_id=_subject_of(incident),
        incident_id=incident.id,
        field=field,
    )
    session.add(record)
    add_entry(session, incident.id, at=now_ms, type_="revealed", actor=staff.username, field=field)
    await session.flush()
    return value, record


async def reveal_audit(
    *, session: AsyncSession, streets: frozenset[int] | None, subject_id: int | None, limit: int
) -> list[RevealRecord]:
    query = select(RevealRecord).order_by(RevealRecord.id.desc()).limit(limit)
    if subject_id is not None:
        query = query.where(RevealRecord.subject_id == subject_id)
    if streets is not None:
        query = (
            query.join(Subject, Subject.id == RevealRecord.subject_id)
            .join(Community, Community.id == Subject.community_id)
            .where(Community.street_id.in_(sorted(streets)))
        )
    return list((await session.scalars(query)).all())
