"""A deterministic demo district (seeded RNG): ~40 elders with a card and a wearable, 3 children; six
elders also have a smart service pack at home (``hub-0001``… with the standard sensors and rooms).

Guardians get numbers in the ``+86 1xx 0000 xxxx`` style test range so no real person is texted.
Every community has a grid worker (网格员) and a children's director (儿童主任), whom the guardian ladder
calls for a person without family. Device ids: ``card-0001``…, ``wear-0001``…, ``kid-0001``…; every
demo device is served by :data:`DEMO_EDGE_ID`. Care plans: elders get the default clinical limits,
children a home fence (家, watched every evening) and a school fence (学校, school hours Mon–Fri)
somewhere in Xiqing. ``anxin demo`` replaces the children's fences with the simulator's own geography,
so simulated children live where their fences are.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.registry.models import CarePlanRecord, CaseWorker, Community, Device, Guardian, Subject
from contracts.care_plan import (
    DEFAULT_CARE_PLAN,
    EVERY_DAY,
    WEEKDAYS,
    CarePlan,
    CircleFencePlan,
    Schedule,
)
from contracts.home import STANDARD_PACK, Room, sensor_id
from contracts.ids import DeviceKind

DEMO_SEED = 20_240_611
DEMO_EDGE_ID = "edge-xiqing-01"
ELDER_COUNT = 40
CHILD_COUNT = 3
# elders with no family to call: their ladder goes to the community's grid worker (网格员)
ALONE = frozenset({38, 39})
HOME_COUNT = 6  # elders 1..6 also have a smart service pack at home: hub-0001.. with its sensors

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
ELDER_GIVEN = ("秀英", "桂兰", "玉兰", "淑珍", "凤英", "建国", "国强", "德明", "志刚", "文华", "振华", "福生")
MALE_GIVEN = ("伟", "强", "磊", "军", "涛", "志刚", "海波")
FEMALE_GIVEN = ("丽", "静", "敏", "燕", "艳", "丽娟", "晓红")
CHILD_GIVEN = ("子涵", "浩然", "欣怡", "梓萱", "宇轩")
XIQING_LAT, XIQING_LON = 39.14, 117.01
M_PER_DEG_LAT = 111_320.0
HOME_FENCE_M, SCHOOL_FENCE_M = 100.0, 150.0
HOME_WATCH = Schedule(days=EVERY_DAY, start="20:00", end="24:00")  # a child should be home at night
SCHOOL_HOURS = Schedule(days=WEEKDAYS, start="08:00", end="16:00")
CARE_NOTES = ("独居", "高血压，每日服药", "行动不便，使用助行器", "糖尿病", "听力较弱，请大声说话", "")


@dataclass(frozen=True, slots=True)
class DemoPerson:
    kind: str
    name: str
    birth_year: int
    community_index: int
    address: str
    care_notes: str
    devices: tuple[tuple[str, DeviceKind], ...]
    guardians: tuple[tuple[str, str, str, str], ...]  # name, phone, relation, language
    care_plan: CarePlan = DEFAULT_CARE_PLAN


def _near(rng: random.Random, lat: float, lon: float, radius_m: float) -> tuple[float, float]:
    north, east = rng.uniform(-radius_m, radius_m), rng.uniform(-radius_m, radius_m)
    return (
        round(lat + north / M_PER_DEG_LAT, 6),
        round(lon + east / (M_PER_DEG_LAT * math.cos(math.radians(lat))), 6),
    )


def child_care_plan(
    home: tuple[float, float],
    school: tuple[float, float],
    *,
    home_radius_m: float = HOME_FENCE_M,
    school_radius_m: float = SCHOOL_FENCE_M,
    school_hours: tuple[str, str] = (SCHOOL_HOURS.start, SCHOOL_HOURS.end),
) -> CarePlan:
    """A child's plan: 家 (watched 20:00–24:00 every day) and 学校 (school hours, Mon–Fri)."""
    hours = Schedule(days=WEEKDAYS, start=school_hours[0], end=school_hours[1])
    return CarePlan(
        fences=[
            CircleFencePlan(name="家", lat=home[0], lon=home[1], radius_m=home_radius_m, schedule=HOME_WATCH),
            CircleFencePlan(
                name="学校", lat=school[0], lon=school[1], radius_m=school_radius_m, schedule=hours
            ),
        ]
    )


def _test_phone(rng: random.Random) -> str:
    return f"+861{rng.choice('3589')}{rng.randint(0, 9)}0000{rng.randint(0, 9999):04d}"


def _demo_address(rng: random.Random) -> str:
    building, door, floor, flat = rng.randint(1, 30), rng.randint(1, 6), rng.randint(1, 18), rng.randint(1, 4)
    return f"{building}号楼{door}门{floor}0{flat}"


def demo_people(community_count: int, seed: int = DEMO_SEED) -> list[DemoPerson]:
    """The demo population, identical for a given seed and community count."""
    rng = random.Random(seed)
    people = []
    for i in range(1, ELDER_COUNT + 1):
        surname = rng.choice(SURNAMES)
        child_surname = surname if rng.random() < 0.7 else rng.choice(SURNAMES)
        relation = rng.choice(("儿子", "女儿"))
        given = MALE_GIVEN if relation == "儿子" else FEMALE_GIVEN
        guardians = [(child_surname + rng.choice(given), _test_phone(rng), relation, "zh")]
        if rng.random() < 0.5:
            guardians.append(
                (rng.choice(SURNAMES) + rng.choice(FEMALE_GIVEN), _test_phone(rng), "网格员", "zh")
            )
        if i % 10 == 0:
            guardians.append(("Alex Chen", _test_phone(rng), "亲属", "en"))
        if i in ALONE:  # drawn like everyone else's, so the people around them stay the same
            guardians = []
        community = (i - 1) % community_count
        devices = [(f"card-{i:04d}", DeviceKind.SOS_CARD), (f"wear-{i:04d}", DeviceKind.WEARABLE)]
        if i <= HOME_COUNT:
            devices.append((f"hub-{i:04d}", DeviceKind.HOME_HUB))
        people.append(
            DemoPerson(
                kind="elder",
                name=surname + rng.choice(ELDER_GIVEN),
                birth_year=rng.randint(1930, 1960),
                community_index=community,
                address=_demo_address(rng),
                care_notes=rng.choice(CARE_NOTES),
                devices=tuple(devices),
                guardians=tuple(guardians),
            )
        )
    for i in range(1, CHILD_COUNT + 1):
        surname = rng.choice(SURNAMES)
        people.append(
            DemoPerson(
                kind="child",
                name=surname + rng.choice(CHILD_GIVEN),
                birth_year=rng.randint(2014, 2019),
                community_index=rng.randrange(community_count),
                address=f"{rng.randint(1, 30)}号楼{rng.randint(1, 6)}门",
                care_notes="",
                devices=((f"kid-{i:04d}", DeviceKind.CHILD_MONITOR),),
                guardians=(
                    (surname + rng.choice(MALE_GIVEN), _test_phone(rng), "父亲", "zh"),
                    (rng.choice(SURNAMES) + rng.choice(FEMALE_GIVEN), _test_phone(rng), "母亲", "zh"),
                ),
            )
        )
    for n, person in enumerate(people[ELDER_COUNT:]):  # own stream: the people above stay as they were
        place = random.Random(seed * 1_000 + n)
        home = _near(place, XIQING_LAT, XIQING_LON, 6_000.0)
        school = _near(place, *home, 1_500.0)
        people[ELDER_COUNT + n] = dataclasses.replace(person, care_plan=child_care_plan(home, school))
    return people


def demo_devices() -> list[tuple[str, DeviceKind]]:
    """Every demo device as ``(device_id, kind)``, for the simulator."""
    devices = [(f"card-{i:04d}", DeviceKind.SOS_CARD) for i in range(1, ELDER_COUNT + 1)]
    devices += [(f"wear-{i:04d}", DeviceKind.WEARABLE) for i in range(1, ELDER_COUNT + 1)]
    devices += [(f"kid-{i:04d}", DeviceKind.CHILD_MONITOR) for i in range(1, CHILD_COUNT + 1)]
    devices += [(f"hub-{i:04d}", DeviceKind.HOME_HUB) for i in range(1, HOME_COUNT + 1)]
    return devices


def demo_pack_sensors() -> list[tuple[str, DeviceKind, str, Room]]:
    """The demo homes' sensors as ``(sensor_id, kind, hub_id, room)``: the standard pack per hub. They
    never connect (their hub publishes for them), so they are not in :func:`demo_devices`."""
    return [
        (sensor_id(hub, s.suffix), s.kind, hub, s.room)
        for hub in (f"hub-{i:04d}" for i in range(1, HOME_COUNT + 1))
        for s in STANDARD_PACK
    ]


async def load_demo(*, session: AsyncSession, now_ms: int, edge_id: str = DEMO_EDGE_ID) -> bool:
    """Add the demo people to a registry that has no subjects yet; True if it did (flushes only)."""
    if await session.scalar(select(func.count()).select_from(Subject)):
        return False
    communities = (await session.scalars(select(Community).order_by(Community.id))).all()
    if not communities:
        raise RuntimeError("seed the district before the demo data")
    for person in demo_people(len(communities)):
        community = communities[person.community_index]
        subject = Subject(
            kind=person.kind,
            display_name=person.name,
            birth_year=person.birth_year,
            community_id=community.id,
            address=community.name_zh + person.address,
            care_notes=person.care_notes,
            created_at=now_ms,
        )
        session.add(subject)
        await session.flush()
        session.add(
            CarePlanRecord(subject_id=subject.id, plan=person.care_plan.model_dump_json(), updated_at=now_ms)
        )
        for device_id, kind in person.devices:
            session.add(
                Device(
                    device_id=device_id,
                    kind=kind.value,
                    subject_id=subject.id,
                    edge_id=edge_id,
                    created_at=now_ms,
                )
            )
            if kind is DeviceKind.HOME_HUB:
                for sensor in STANDARD_PACK:
                    session.add(
                        Device(
                            device_id=sensor_id(device_id, sensor.suffix),
                            kind=sensor.kind.value,
                            subject_id=subject.id,
                            edge_id=edge_id,
                            created_at=now_ms,
                            hub_id=device_id,
                            room=sensor.room.value,
                        )
                    )
        for priority, (name, phone, relation, language) in enumerate(person.guardians, start=1):
            session.add(
                Guardian(
                    subject_id=subject.id,
                    name=name,
                    phone=phone,
                    relation=relation,
                    language=language,
                    priority=priority,
                    created_at=now_ms,
                )
            )
    await session.flush()
    session.add_all(demo_case_workers([c.id for c in communities], now_ms=now_ms))
    await session.flush()
    return True


def demo_case_workers(community_ids: list[int], seed: int = DEMO_SEED, now_ms: int = 0) -> list[CaseWorker]:
    """A grid worker (网格员) and a children's director (儿童主任) per community (own RNG stream)."""
    rng = random.Random(seed * 31 + 7)
    workers = []
    for community_id in community_ids:
        for role in ("grid_worker", "children_director"):
            name = rng.choice(SURNAMES) + rng.choice(FEMALE_GIVEN + MALE_GIVEN)
            workers.append(
                CaseWorker(
                    community_id=community_id,
                    role=role,
                    name=name,
                    phone=_test_phone(rng),
                    language="zh",
                    created_at=now_ms,
                )
            )
    return workers
