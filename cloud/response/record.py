"""The resident record an operator sees on an incident: who, where, which devices, which guardians.

Names, the address, phone numbers and care notes stay masked here; the full values are behind the
audited reveal (``POST /incidents/{id}/reveal``, ``cloud.plans``). Battery and "last seen" are what
the center last heard from each device in an edge event: the center keeps no telemetry of its own.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from cloud.errors import NotFound
from cloud.incidents.models import Incident
from cloud.intake.models import EventRecord
from cloud.notify.models import GuardianReply, Notification
from cloud.phones import display_phone
from cloud.plans.service import get_plan
from cloud.registry.care_plans import get_care_plan
from cloud.registry.models import Community, Device, Guardian, Subject

CENTER_TZ = dt.timezone(dt.timedelta(hours=8))  # the district center's civil time (China Standard Time)
_DIGIT = re.compile(r"\d")


class RecordDevice(BaseModel):
    device_id: str
    kind: str
    battery_pct: float | None  # the latest battery level an event carried, if any
    last_seen: int | None  # device clock of the latest event the center received from it
    in_incident: bool  # the device that raised this incident


class RecordGuardian(BaseModel):
    id: int
    relation: str
    phone_masked: str
    reveal_field: str
    language: str
    priority: int
    notified: str | None  # latest SMS/voice for this incident: queued | sent | failed | merged | dropped
    delivery: str | None  # the provider's delivery report: delivered | undelivered | failed | …
    channel: str | None
    answered: str | None  # acknowledged | message: the guardian's reply to this incident


class CallTarget(BaseModel):
    """A number the operator can ring with one click (besides the guardians): masked; ``field`` names it
    for ``POST /incidents/{id}/calls`` and for the audited reveal."""

    field: str  # phone:home | phone:device
    kind: str  # home | device
    phone_masked: str


class RecordFence(BaseModel):
    name: str
    shape: str
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    vertices: list[tuple[float, float]] = []


class VitalLimits(BaseModel):
    hr_high_bpm: float
    hr_low_bpm: float
    spo2_low_pct: float


class ResidentRecord(BaseModel):
    subject_id: int
    kind: str
    masked_name: str
    initial: str  # for the photo placeholder
    age: int
    birth_year: int
    address_masked: str
    community: str
    street: str
    street_id: int
    has_care_notes: bool
    devices: list[RecordDevice]
    guardians: list[RecordGuardian]
    call_targets: list[CallTarget]  # the home phone, the alarm device's own number (from the plan)
    fences: list[RecordFence]  # empty while ``fences_hidden`` (a child's: behind the audited reveal)
    fences_hidden: bool
    limits: VitalLimits


class TrailPoint(BaseModel):
    at: int
    lat: float
    lon: float
    accuracy_m: float | None


class RevealedPlace(BaseModel):
    """A child's whereabouts after an audited reveal: the trail the edge sent and the fences."""

    audit_id: int
    trail: list[TrailPoint]
    fences: list[RecordFence]


def mask_address(address: str) -> str:
    """Digits hidden: ``12号楼3门1502`` -> ``**号楼*门****`` (the full address is an audited reveal)."""
    return _DIGIT.sub("*", address) if address else ""


def age_on(birth_year: int, now_ms: int) -> int:
    """Age in years by the calendar year at the center (the registry keeps the year of birth only)."""
    return max(0, dt.datetime.fromtimestamp(now_ms / 1000, CENTER_TZ).year - birth_year)


def _battery(payload: dict[str, Any]) -> float | None:
    evidence = payload.get("evidence")
    value = evidence.get("battery_pct") if isinstance(evidence, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


async def _devices(session: AsyncSession, subject_id: int, incident: Incident) -> list[RecordDevice]:
    devices = (
        await session.scalars(
            select(Device).where(Device.subject_id == subject_id).order_by(Device.device_id)
        )
    ).all()
    out = []
    for device in devices:
        events = (
            await session.scalars(
                select(EventRecord)
                .where(EventRecord.device_id == device.device_id)
                .order_by(EventRecord.device_ts.desc())
                .limit(20)
            )
        ).all()
        battery = next((b for b in (_battery(e.payload) for e in events) if b is not None), None)
        out.append(
            RecordDevice(
                device_id=device.device_id,
                kind=device.kind,
                battery_pct=battery,
                last_seen=events[0].device_ts if events else None,
                in_incident=device.device_id == incident.device_id,
            )
        )
    return out


async def _guardians(session: AsyncSession, subject_id: int, incident_id: int) -> list[RecordGuardian]:
    guardians = (
        await session.scalars(
            select(Guardian).where(Guardian.subject_id == subject_id).order_by(Guardian.priority, Guardian.id)
        )
    ).all()
    notes = (
        await session.scalars(
            select(Notification).where(Notification.incident_id == incident_id).order_by(Notification.id)
        )
    ).all()
    latest = {n.guardian_id: n for n in notes if n.guardian_id is not None}
    replies = (
        await session.scalars(
            select(GuardianReply).where(GuardianReply.incident_id == incident_id).order_by(GuardianReply.id)
        )
    ).all()
    answered: dict[int, str] = {}
    for reply in replies:  # an acknowledgement outranks a later free-text message
        if answered.get(reply.guardian_id) != "acknowledged":
            answered[reply.guardian_id] = reply.result
    out = []
    for g in guardians:
        note = latest.get(g.id)
        out.append(
            RecordGuardian(
                id=g.id,
                relation=g.relation,
                phone_masked=display_phone(g.phone),
                reveal_field=f"phone:guardian_{g.id}",
                language=g.language,
                priority=g.priority,
                notified=note.status if note else None,
                delivery=note.delivery_status if note else None,
                channel=note.channel if note else None,
                answered=answered.get(g.id),
            )
        )
    return out


async def _call_targets(session: AsyncSession, subject_id: int, incident: Incident) -> list[CallTarget]:
    plan, _ = await get_plan(session=session, subject_id=subject_id)
    targets = []
    if plan.home_phone is not None:
        targets.append(
            CallTarget(field="phone:home", kind="home", phone_masked=display_phone(plan.home_phone))
        )
    device_phone = plan.device_phones.get(incident.device_id)
    if device_phone is not None:
        targets.append(
            CallTarget(field="phone:device", kind="device", phone_masked=display_phone(device_phone))
        )
    return targets


async def resident_record(*, session: AsyncSession, incident: Incident, now_ms: int) -> ResidentRecord:
    subject = await session.scalar(
        select(Subject)
        .where(Subject.id == incident.subject_id)
        .options(joinedload(Subject.community).joinedload(Community.street))
    )
    if subject is None:
        raise NotFound("this incident has no registered person", field="incident_id")
    plan = await get_care_plan(session=session, subject_id=subject.id)
    hidden = subject.kind == "child"
    masked = subject.masked_name
    return ResidentRecord(
        subject_id=subject.id,
        kind=subject.kind,
        masked_name=masked,
        initial=masked.removesuffix("**")[:2] or "?",
        age=age_on(subject.birth_year, now_ms),
        birth_year=subject.birth_year,
        address_masked=mask_address(subject.address),
        community=subject.community.name_zh,
        street=subject.community.street.name_zh,
        street_id=subject.community.street_id,
        has_care_notes=bool(subject.care_notes),
        devices=await _devices(session, subject.id, incident),
        guardians=await _guardians(session, subject.id, incident.id),
        call_targets=await _call_targets(session, subject.id, incident),
        fences=[] if hidden else await fences_of(session=session, subject_id=subject.id),
        fences_hidden=hidden and bool(plan.fences),
        limits=VitalLimits(
            hr_high_bpm=plan.vitals.hr_high_bpm,
            hr_low_bpm=plan.vitals.hr_low_bpm,
            spo2_low_pct=plan.vitals.spo2_low_pct,
        ),
    )


async def fences_of(*, session: AsyncSession, subject_id: int) -> list[RecordFence]:
    plan = await get_care_plan(session=session, subject_id=subject_id)
    return [RecordFence.model_validate(f.model_dump(exclude={"schedule"})) for f in plan.fences]


def _points(value: object) -> list[TrailPoint]:
    if not isinstance(value, list):
        return []
    out = []
    for point in value:
        if isinstance(point, list) and len(point) >= 3 and all(isinstance(v, int | float) for v in point[:3]):
            accuracy = point[3] if len(point) > 3 and isinstance(point[3], int | float) else None
            out.append(
                TrailPoint(at=int(point[0]), lat=float(point[1]), lon=float(point[2]), accuracy_m=accuracy)
            )
    return out


async def trail_of(*, session: AsyncSession, incident_id: int) -> list[TrailPoint]:
    """The longest location trail any event of the incident carried (the edge sends its recent fixes)."""
    events = await session.scalars(select(EventRecord).where(EventRecord.incident_id == incident_id))
    best: list[TrailPoint] = []
    for event in events:
        evidence = event.payload.get("evidence")
        points = _points(evidence.get("trail")) if isinstance(evidence, dict) else []
        if len(points) > len(best):
            best = points
    return best
