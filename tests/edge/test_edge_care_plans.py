"""Care plans configure each device's detectors: pure adapter checks, then the gateway with a cloud
stand-in (snapshot with plans, SQLite cache across a restart with the cloud down, a changed plan)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from edge_cloud_standin import CloudStandIn
from edge_testkit import DeviceLink, registry_of

from contracts import DeviceKind, EventKind, Location, LocationSource, Status, Vitals, encode
from contracts.care_plan import CarePlan
from edge.database import Database
from edge.detection.adapter import DetectionAdapter
from edge.detection.fleet_clock import FleetClock
from edge.liveness.detector import Liveness
from edge.pipeline import Pipeline
from edge.registry.store import RegistryStore, parse_snapshot
from tests.serving import serving

MONDAY_9AM = 1_772_413_200_000  # 2026-03-02 09:00 CST
SATURDAY_9AM = 1_772_845_200_000
MIN = 60_000
SCHOOL = (39.15, 117.02)
OUTSIDE = (39.156, 117.02)  # ~670 m north
SCHOOL_PLAN = {
    "fences": [
        {
            "name": "学校",
            "shape": "circle",
            "lat": SCHOOL[0],
            "lon": SCHOOL[1],
            "radius_m": 150,
            "schedule": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "16:30"},
        }
    ],
    "vehicle_kmh": 30,
    "future_field": {"ignored": True},  # a newer cloud: readers ignore what they do not know
}


def _fix(device_id: str, seq: int, ts: int, where: tuple[float, float]) -> Location:
    return Location(
        device_id=device_id,
        seq=seq,
        ts=ts,
        lat=where[0],
        lon=where[1],
        accuracy_m=8.0,
        source=LocationSource.GNSS,
    )


def _walk_out(pipeline: Pipeline, device_id: str, start_ms: int) -> list[EventKind]:
    kinds: list[EventKind] = []
    for n, where in enumerate([SCHOOL, SCHOOL, SCHOOL, OUTSIDE, OUTSIDE, OUTSIDE]):
        ts = start_ms + n * MIN
        kinds += [e.kind for e in pipeline.handle(_fix(device_id, n + 1, ts, where), ts).events]
    return kinds


def test_school_fence_from_the_plan_is_watched_in_school_hours_only() -> None:
    plans = {"kid-1": CarePlan.model_validate(SCHOOL_PLAN)}
    adapter = DetectionAdapter(lambda _d: DeviceKind.CHILD_MONITOR, plan_of=plans.get)
    pipeline = Pipeline("edge-1", [adapter])
    assert _walk_out(pipeline, "kid-1", MONDAY_9AM) == [EventKind.GEOFENCE_EXIT]
    [fence] = adapter.config_of("kid-1").fences
    assert fence.name == "学校" and adapter.config_of("kid-1").child.vehicle_kmh == 30
    assert _walk_out(Pipeline("edge-1", [adapter]), "kid-2", MONDAY_9AM) == []  # no plan: no fences
    weekend = DetectionAdapter(lambda _d: DeviceKind.CHILD_MONITOR, plan_of=plans.get)
    assert _walk_out(Pipeline("edge-1", [weekend]), "kid-1", SATURDAY_9AM) == []


def test_exit_event_names_the_fence() -> None:
    plans = {"kid-1": CarePlan.model_validate(SCHOOL_PLAN)}
    pipeline = Pipeline("edge-1", [DetectionAdapter(lambda _d: DeviceKind.CHILD_MONITOR, plan_of=plans.get)])
    events = []
    for n, where in enumerate([SCHOOL, SCHOOL, OUTSIDE, OUTSIDE]):
        ts = MONDAY_9AM + n * MIN
        events += pipeline.handle(_fix("kid-1", n + 1, ts, where), ts).events
    [event] = events
    assert event.detail == "left_fence:学校"


def _vitals(pipeline: Pipeline, first_seq: int, start_ms: int, hr: float, minutes: int) -> list[EventKind]:
    kinds: list[EventKind] = []
    for n in range(minutes):
        ts = start_ms + n * MIN
        msg = Vitals(device_id="wear-1", seq=first_seq + n, ts=ts, hr_bpm=hr, spo2_pct=97)
        kinds += [e.kind for e in pipeline.handle(msg, ts).events]
    return kinds


def test_a_changed_plan_reconfigures_the_detectors_without_a_restart() -> None:
    plans: dict[str, CarePlan] = {}
    adapter = DetectionAdapter(lambda _d: DeviceKind.WEARABLE, plan_of=plans.get)
    pipeline = Pipeline("edge-1", [adapter])
    assert _vitals(pipeline, 1, MONDAY_9AM, hr=120, minutes=6) == []  # default limit 130 bpm
    plans["wear-1"] = CarePlan.model_validate({"vitals": {"hr_high_bpm": 110, "sustained_min": 3}})
    kinds = _vitals(pipeline, 7, MONDAY_9AM + 6 * MIN, hr=120, minutes=5)
    assert kinds == [EventKind.HR_HIGH]
    assert adapter.reconfigured == 1 and adapter.config_of("wear-1").vitals.sustain_s == 180
    plans["wear-1"] = CarePlan.model_validate({"vitals": {"hr_high_bpm": 110, "sustained_min": 3}})
    _vitals(pipeline, 12, MONDAY_9AM + 11 * MIN, hr=70, minutes=1)  # equal plan, new object: no rebuild
    assert adapter.reconfigured == 1
    waking = CarePlan.model_validate({"waking_hours": {"wake": "06:00", "sleep": "21:30"}})
    plans["wear-1"] = waking
    _vitals(pipeline, 13, MONDAY_9AM + 12 * MIN, hr=70, minutes=1)
    inactivity = adapter.config_of("wear-1").inactivity
    assert (inactivity.wake_min, inactivity.sleep_min, inactivity.utc_offset_min) == (360, 1290, 480)


def test_silence_shows_up_under_a_600x_simulation() -> None:
    """Device time runs 600× faster than the gateway's: a card silent for 30 simulated minutes (3 wall
    seconds) is reported within a round of the fleet's messages, though the gateway's own clock moved
    only seconds."""
    speed, wall0 = 600, 1_700_000_000_000
    adapter = DetectionAdapter(lambda d: DeviceKind.SOS_CARD, clock=FleetClock())
    liveness = Liveness(
        clock=adapter.clock,
        kind_of=lambda _d: DeviceKind.SOS_CARD,
        plan_of=lambda _d: None,
        offline_grace_s=120,
    )
    pipeline = Pipeline("edge-1", [adapter, liveness])
    found: list[tuple[str, int]] = []
    last_heard = 0
    for seq, step in enumerate(range(0, 25_000, 50), start=1):  # a message every 50 ms wall = 30 s simulated
        wall = wall0 + step
        sim = MONDAY_9AM + step * speed
        device = f"card-{step // 50 % 4}"
        if device == "card-0" and sim > MONDAY_9AM + 5 * MIN:
            device = "card-1"  # card-0 went quiet after five minutes
        elif device == "card-0":
            last_heard = sim
        pipeline.handle(Status(device_id=device, seq=seq, ts=sim, battery_pct=80), wall)
        found += [
            (e.device_id, e.device_ts) for e in pipeline.tick(wall) if e.kind is EventKind.DEVICE_SILENT
        ]
    [(device_id, at)] = found
    assert device_id == "card-0"
    assert 30 * MIN <= at - last_heard <= 30 * MIN + 2 * MIN  # the fleet clock lags about one round


def test_a_bad_plan_keeps_the_device_with_default_detectors() -> None:
    entries = registry_of("card-1", "watch-1")
    entries[0]["care_plan"] = {"vitals": {"hr_low_bpm": "very low"}}
    entries[1]["care_plan"] = {"fences": [{"name": "x", "shape": "polygon", "vertices": [[1, 2]]}]}
    devices, bad = parse_snapshot([*entries, {"device_id": "bad/id", "kind": "sos_card"}])
    assert bad == 1 and [d.device_id for d in devices] == ["card-1", "watch-1"]
    assert all(d.care_plan is None for d in devices)


async def test_an_older_edge_database_gets_the_care_plan_column(tmp_path: Path) -> None:
    path = tmp_path / "edge.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE registry (device_id TEXT PRIMARY KEY, kind TEXT NOT NULL, subject_id TEXT)")
        old.execute("INSERT INTO registry VALUES ('card-1', 'sos_card', 'p-1')")
    db = Database(path)
    await db.open()
    try:
        store = RegistryStore(db)
        devices, _ = parse_snapshot([{**registry_of("watch-1")[0], "care_plan": SCHOOL_PLAN}])
        await store.save(devices, fetched_ms=5)
        loaded = await store.load()
        assert loaded is not None and loaded[1] == 5
        [watch] = loaded[0]
        assert watch.care_plan is not None and watch.care_plan.fences[0].name == "学校"
    finally:
        await db.close()


async def test_plans_are_cached_for_a_restart_with_the_cloud_down_and_refreshed(
    standin: CloudStandIn, cloud_port: int, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    registry = registry_of("card-1", "watch-1", "wear-1")
    registry[1]["care_plan"] = SCHOOL_PLAN
    standin.registry = registry
    async with serving(standin.app, port=cloud_port, graceful_s=1), gateway_factory() as gateway:
        watch = gateway.registry.get("watch-1")
        assert watch is not None and watch.care_plan is not None
        # a changed plan reaches the detectors at the next refresh, no restart
        registry[2]["care_plan"] = {"vitals": {"hr_high_bpm": 112}}
        assert await gateway.registry_sync.refresh()
        await device.publish(
            "wear-1", "vitals", encode(Vitals(device_id="wear-1", seq=1, ts=MONDAY_9AM, hr_bpm=70))
        )
        await gateway.wait_handled(1)
        [adapter] = [d for d in gateway.pipeline.detectors if isinstance(d, DetectionAdapter)]
        assert adapter.config_of("wear-1").vitals.hr_high_bpm == 112
    standin.registry = None
    async with gateway_factory() as gateway:  # cloud down: the plans come from the SQLite cache
        for n, where in enumerate([SCHOOL, SCHOOL, OUTSIDE, OUTSIDE]):
            fix = _fix("watch-1", n + 1, MONDAY_9AM + n * MIN, where)
            await device.publish("watch-1", "location", encode(fix))
        await gateway.wait_handled(4)
        rows = (
            sqlite3.connect(gateway.settings.database_path)
            .execute("SELECT kind, body FROM outbox")
            .fetchall()
        )
        assert [(kind, orjson.loads(body)["detail"]) for kind, body in rows] == [
            ("geofence_exit", "left_fence:学校")
        ]
