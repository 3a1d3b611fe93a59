"""Registry service: keyword-only functions taking the session. They flush; callers commit."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from cloud.errors import Conflict, InvalidInput, NotFound
from cloud.registry import secrets
from cloud.registry.district import XIQING_STREETS
from cloud.registry.models import Community, Device, Guardian, Street, Subject
from cloud.registry.schemas import (
    CommunityOut,
    CommunityRef,
    DeviceCreated,
    DeviceIn,
    DeviceOut,
    DeviceSecret,
    GuardianIn,
    GuardianOut,
    StreetOut,
    SubjectIn,
    SubjectKind,
    SubjectOut,
    SubjectSummary,
)


async def seed_district(*, session: AsyncSession) -> bool:
    """Load the district's streets and communities into an empty registry; True if it did."""
    if await session.scalar(select(func.count()).select_from(Street)):
        return False
    for code, name_zh, name_en, communities in XIQING_STREETS:
        street = Street(code=code, name_zh=name_zh, name_en=name_en)
        street.communities = [Community(name_zh=name) for name in communities]
        session.add(street)
    await session.flush()
    return True


async def list_streets(*, session: AsyncSession) -> list[StreetOut]:
    streets = await session.scalars(
        select(Street).options(selectinload(Street.communities)).order_by(Street.id)
    )
    return [
        StreetOut(
            id=s.id,
            code=s.code,
            name_zh=s.name_zh,
            name_en=s.name_en,
            communities=[CommunityOut(id=c.id, name=c.name_zh) for c in s.communities],
        )
        for s in streets
    ]


async def _load_subject(session: AsyncSession, subject_id: int) -> Subject:
    subject = await session.scalar(
        select(Subject)
        .where(Subject.id == subject_id)
        .options(selectinload(Subject.community).selectinload(Community.street))
    )
    if subject is None:
        raise NotFound(f"no subject {subject_id}", field="subject_id")
    return subject


def _subject_out(subject: Subject, device_ids: Sequence[str]) -> SubjectOut:
    community = subject.community
    return SubjectOut(
        id=subject.id,
        kind=SubjectKind(subject.kind),
        display_name=subject.display_name,
        masked_name=subject.masked_name,
        birth_year=subject.birth_year,
        community=CommunityRef(
            id=community.id,
            name=community.name_zh,
            street_id=community.street_id,
            street=community.street.name_zh,
        ),
        address=subject.address,
        care_notes=subject.care_notes,
        device_ids=list(device_ids),
    )


async def create_subject(*, session: AsyncSession, data: SubjectIn, now_ms: int) -> SubjectOut:
    if await session.get(Community, data.community_id) is None:
        raise InvalidInput("no such community", field="community_id")
    subject = Subject(**data.model_dump(), created_at=now_ms)
    session.add(subject)
    await session.flush()
    return await get_subject(session=session, subject_id=subject.id)


async def get_subject(*, session: AsyncSession, subject_id: int) -> SubjectOut:
    subject = await _load_subject(session, subject_id)
    devices = await session.scalars(
        select(Device.device_id).where(Device.subject_id == subject_id).order_by(Device.device_id)
    )
    return _subject_out(subject, devices.all())


async def list_subjects(
    *, session: AsyncSession, limit: int, offset: int, community_id: int | None = None
) -> list[SubjectOut]:
    query = (
        select(Subject)
        .options(selectinload(Subject.community).selectinload(Community.street))
        .order_by(Subject.id)
        .limit(limit)
        .offset(offset)
    )
    if community_id is not None:
        query = query.where(Subject.community_id == community_id)
    subjects = (await session.scalars(query)).all()
    ids = [s.id for s in subjects]
    devices: dict[int, list[str]] = {}
    if ids:
        rows = await session.execute(
            select(Device.subject_id, Device.device_id)
            .where(Device.subject_id.in_(ids))
            .order_by(Device.device_id)
        )
        for subject_id, device_id in rows:
            devices.setdefault(subject_id, []).append(device_id)
    return [_subject_out(s, devices.get(s.id, [])) for s in subjects]


async def subject_summary(*, session: AsyncSession, subject_id: int) -> SubjectSummary:
    subject = await _load_subject(session, subject_id)
    return SubjectSummary(
        id=subject.id,
        kind=SubjectKind(subject.kind),
        masked_name=subject.masked_name,
        birth_year=subject.birth_year,
        community=subject.community.name_zh,
        street=subject.community.street.name_zh,
    )


async def create_device(*, session: AsyncSession, data: DeviceIn, now_ms: int) -> DeviceCreated:
    """Register a device and give it a broker secret (returned here once; only its hash is kept)."""
    if await session.get(Subject, data.subject_id) is None:
        raise InvalidInput("no such subject", field="subject_id")
    if await session.get(Device, data.device_id) is not None:
        raise Conflict("device already registered", field="device_id")
    secret = secrets.new_secret()
    device = Device(
        **data.model_dump(mode="json"), created_at=now_ms, mqtt_secret_hash=secrets.mosquitto_hash(secret)
    )
    session.add(device)
    await session.flush()
    return DeviceCreated(
        device_id=device.device_id,
        kind=data.kind,
        subject_id=device.subject_id,
        edge_id=device.edge_id,
        mqtt_username=device.device_id,
        mqtt_secret=secret,
    )


async def rotate_device_secret(*, session: AsyncSession, device_id: str) -> DeviceSecret:
    """A new broker secret for ``device_id`` (returned once); the old one works until the next sync."""
    device = await session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id}", field="device_id")
    secret = secrets.new_secret()
    device.mqtt_secret_hash = secrets.mosquitto_hash(secret)
    await session.flush()
    return DeviceSecret(device_id=device_id, mqtt_username=device_id, mqtt_secret=secret)


async def device_logins(*, session: AsyncSession) -> list[tuple[str, str]]:
    """``(device_id, mosquitto hash)`` of every device that has a secret, by device id."""
    rows = await session.execute(
        select(Device.device_id, Device.mqtt_secret_hash)
        .where(Device.mqtt_secret_hash.is_not(None))
        .order_by(Device.device_id)
    )
    return [(device_id, hashed) for device_id, hashed in rows if hashed]


async def issue_missing_secrets(
    *, session: AsyncSession, device_ids: set[str] | None = None
) -> dict[str, str]:
    """Give a secret to every device (of ``device_ids``, or all) that has none; returns the new secrets.

    For simulated and lab fleets, whose secrets go to a file the simulator reads; a real device gets
    its secret when it is registered (:func:`create_device`).
    """
    query = select(Device).where(Device.mqtt_secret_hash.is_(None)).order_by(Device.device_id)
    if device_ids is not None:
        query = query.where(Device.device_id.in_(sorted(device_ids)))
    issued: dict[str, str] = {}
    for device in await session.scalars(query):
        issued[device.device_id] = secret = secrets.new_secret()
        device.mqtt_secret_hash = secrets.mosquitto_hash(secret)
    await session.flush()
    return issued


async def get_device(*, session: AsyncSession, device_id: str) -> Device | None:
    return await session.get(Device, device_id)


async def list_devices(
    *, session: AsyncSession, limit: int, offset: int, edge_id: str | None = None
) -> list[DeviceOut]:
    query = select(Device).order_by(Device.device_id).limit(limit).offset(offset)
    if edge_id is not None:
        query = query.where(Device.edge_id == edge_id)
    return [
        DeviceOut(device_id=d.device_id, kind=d.kind, subject_id=d.subject_id, edge_id=d.edge_id)
        for d in await session.scalars(query)
    ]


async def create_guardian(
    *, session: AsyncSession, subject_id: int, data: GuardianIn, now_ms: int
) -> GuardianOut:
    if await session.get(Subject, subject_id) is None:
        raise NotFound(f"no subject {subject_id}", field="subject_id")
    guardian = Guardian(subject_id=subject_id, **data.model_dump(mode="json"), created_at=now_ms)
    session.add(guardian)
    await session.flush()
    return _guardian_out(guardian)


async def list_guardians(*, session: AsyncSession, subject_id: int) -> list[GuardianOut]:
    if await session.get(Subject, subject_id) is None:
        raise NotFound(f"no subject {subject_id}", field="subject_id")
    rows = await session.scalars(
        select(Guardian).where(Guardian.subject_id == subject_id).order_by(Guardian.priority, Guardian.id)
    )
    return [_guardian_out(g) for g in rows]


def _guardian_out(g: Guardian) -> GuardianOut:
    return GuardianOut(
        id=g.id,
        subject_id=g.subject_id,
        name=g.name,
        phone=g.phone,
        relation=g.relation,
        language=g.language,
        priority=g.priority,
    )
