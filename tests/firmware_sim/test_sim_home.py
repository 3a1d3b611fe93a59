"""The home hub model: deterministic, valid messages, a daily routine, scripted hazards and faults."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from contracts import decode_uplink
from contracts.home import DoorState, HazardAlarm, MotionCount, PullCordAlarm, SensorStatus
from firmware_sim.scenario import build_timeline, load_scenario, parse_scenario, scenario_fleet
from firmware_sim.simulation import Advance, FleetSimulation

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "home-pack.yaml"
HOUR_MS = 3_600_000


def run(data: dict[str, object], seed: int, *, step_ms: int | None = None) -> Advance:
    scenario = parse_scenario(data)
    fleet = scenario_fleet(scenario)
    assert fleet is not None
    sim = FleetSimulation(
        fleet, seed=seed, start_ms=scenario.start_ms, timeline=build_timeline(scenario, fleet, seed)
    )
    if step_ms is None:
        return sim.advance(scenario.end_ms)
    total = Advance()
    t = scenario.start_ms
    while t < scenario.end_ms:
        t = min(t + step_ms, scenario.end_ms)
        part = sim.advance(t)
        total.frames += part.frames
        total.truths += part.truths
    return total


DAY = {
    "name": "home-day",
    "start": "2026-03-02T00:00:00+08:00",
    "duration": "24h",
    "fleet": {"counts": {"hub": 2}},
    "events": [
        {"at": "12:10", "subject": "H001", "kind": "smoke", "duration": "8m"},
        {
            "at": "14:00",
            "subject": "H002",
            "kind": "stuck_detector",
            "sensor": "gas",
            "period": "4m",
            "duration": "1h",
        },
        {"at": "15:00", "subject": "H002", "kind": "sos"},
        {"at": "16:00", "subject": "H001", "kind": "tamper", "sensor": "door"},
    ],
}


def messages(result: Advance) -> list[object]:
    return [decode_uplink(f.wire.topic, f.wire.payload) for f in result.frames]


def test_the_same_seed_gives_the_same_messages_however_the_run_is_stepped() -> None:
    one = run(DAY, 7)
    stepped = run(DAY, 7, step_ms=HOUR_MS // 3)
    assert [f.wire for f in one.frames] == [f.wire for f in stepped.frames]
    assert [t.to_json() for t in one.truths] == [t.to_json() for t in stepped.truths]
    other = run(DAY, 8)
    assert [f.wire for f in one.frames] != [f.wire for f in other.frames]


def test_a_day_of_routine_is_valid_and_looks_like_a_day() -> None:
    decoded = messages(run(DAY, 7))
    motion = [m for m in decoded if isinstance(m, MotionCount) and m.device_id == "hub-0001"]
    assert len(motion) == 4 * 288  # four PIR sensors, every 5 minutes, also when nobody moved
    by_hour: Counter[int] = Counter()
    for m in motion:
        by_hour[((m.ts // HOUR_MS) + 8) % 24] += m.count
    assert sum(by_hour[h] for h in (1, 2, 3)) < sum(by_hour[h] for h in (8, 9, 10, 17, 18))
    kitchen = [m for m in motion if m.sensor_id.endswith("pir-kitchen") and m.count > 0]
    assert any(6 <= ((m.ts // HOUR_MS) + 8) % 24 < 10 for m in kitchen), "breakfast in the kitchen"
    seqs = [m.seq for m in decoded if getattr(m, "device_id", "") == "hub-0001"]  # type: ignore[attr-defined]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_scripted_hazards_faults_and_ground_truth() -> None:
    result = run(DAY, 7)
    decoded = messages(result)
    smoke = [m for m in decoded if isinstance(m, HazardAlarm) and m.sensor_id == "hub-0001-smoke"]
    assert [m.state for m in smoke] == ["alarm", "clear"]
    assert smoke[1].ts - smoke[0].ts == 8 * 60_000
    gas = [m for m in decoded if isinstance(m, HazardAlarm) and m.sensor_id == "hub-0002-gas"]
    assert [m.state for m in gas].count("alarm") == 15  # every 4 minutes for an hour
    assert any(isinstance(m, PullCordAlarm) and m.device_id == "hub-0002" for m in decoded)  # sos → cord
    tamper = [m for m in decoded if isinstance(m, SensorStatus) and m.tamper]
    assert [m.sensor_id for m in tamper] == ["hub-0001-door"]
    truths = [orjson.loads(t.to_json()) for t in result.truths]
    assert {t["kind"] for t in truths} == {"smoke", "stuck_detector", "sos", "tamper"}
    smoke_truth = next(t for t in truths if t["kind"] == "smoke")
    assert smoke_truth["detail"]["sensor_id"] == "hub-0001-smoke"
    assert smoke_truth["detail"]["room"] == "kitchen"


def test_nobody_up_silences_the_home_and_wandering_opens_the_door_at_night() -> None:
    data = {
        **DAY,
        "events": [
            {"at": "04:30", "subject": "H001", "kind": "nobody_up"},
            {"at": "01:40", "subject": "H002", "kind": "wandering", "duration": "2h"},
        ],
    }
    decoded = messages(run(data, 3))
    after = [m for m in decoded if isinstance(m, MotionCount) and m.device_id == "hub-0001"]
    assert sum(m.count for m in after if m.ts >= after[0].ts + 5 * HOUR_MS) == 0
    doors = [m for m in decoded if isinstance(m, DoorState) and m.device_id == "hub-0002"]
    assert [d.state for d in doors[:2]] == ["open", "closed"]


def test_the_scenario_file_loads_and_names_hubs() -> None:
    scenario = load_scenario(SCENARIO)
    fleet = scenario_fleet(scenario)
    assert fleet is not None
    assert [d.device_id for d in fleet] == [f"hub-000{n}" for n in range(1, 7)]
    timeline = build_timeline(scenario, fleet, 1)
    assert {e.kind for e in timeline} >= {"smoke", "nobody_up", "stuck_detector", "tap_running", "wandering"}


def test_a_home_event_on_a_personal_device_is_refused() -> None:
    data = {
        **DAY,
        "fleet": {"counts": {"card": 1}},
        "events": [{"at": "10:00", "subject": "D001", "kind": "smoke"}],
    }
    scenario = parse_scenario(data)
    fleet = scenario_fleet(scenario)
    assert fleet is not None
    with pytest.raises(ValueError, match="cannot do smoke"):
        build_timeline(scenario, fleet, 1)
