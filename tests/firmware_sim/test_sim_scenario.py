"""Scenarios: the one-hour example is deterministic, fast in simulated time, and its events are truth."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest

from contracts import FallSuspected, SosCancel, SosPress, decode_uplink
from firmware_sim.fleet import FleetError, FleetIndex, fleet_from_mix, parse_mix
from firmware_sim.groundtruth import GroundTruthWriter, read_ground_truth
from firmware_sim.models import AccelMode
from firmware_sim.scenario import Scenario, ScenarioError, build_timeline, parse_scenario, scenario_fleet
from firmware_sim.simulation import FleetSimulation, LinkCommand


def run(scenario: Scenario, seed: int, accel: AccelMode = AccelMode.EVENTS) -> tuple[str, list[bytes], Any]:
    fleet = scenario_fleet(scenario)
    assert fleet is not None
    sim = FleetSimulation(
        fleet,
        seed=seed,
        start_ms=scenario.start_ms,
        timeline=build_timeline(scenario, fleet, seed),
        accel_mode=accel,
    )
    digest = hashlib.sha256()
    truths: list[bytes] = []
    links = []
    # step in uneven chunks: the output must not depend on how time is sliced
    t = scenario.start_ms
    step = 7_919
    while t < scenario.end_ms:
        t = min(scenario.end_ms, t + step)
        step = step * 3 % 100_003 + 1
        adv = sim.advance(t)
        for frame in adv.frames:
            digest.update(frame.wire.topic.encode() + b"\0" + frame.wire.payload)
        truths.extend(tr.to_json() for tr in adv.truths)
        links.extend(adv.links)
    return digest.hexdigest(), truths, (sim, links)


def test_same_seed_same_truth_and_messages(one_hour: Scenario) -> None:
    a_hash, a_truth, _ = run(one_hour, seed=1)
    b_hash, b_truth, _ = run(one_hour, seed=1)
    assert a_truth == b_truth and a_hash == b_hash
    c_hash, c_truth, _ = run(one_hour, seed=2)
    assert c_hash != a_hash and c_truth != a_truth


def test_one_hour_of_200_devices_runs_in_seconds(one_hour: Scenario) -> None:
    began = time.perf_counter()
    run(one_hour, seed=1)
    assert time.perf_counter() - began < 10


def test_scripted_events_are_ground_truth_and_happen(one_hour: Scenario, tmp_path: Path) -> None:
    _, truths, (sim, links) = run(one_hour, seed=1)
    out = tmp_path / "gt.jsonl"
    writer = GroundTruthWriter(out)
    from firmware_sim.groundtruth import Truth

    writer.write(
        [Truth(**{k: v for k, v in __import__("orjson").loads(t).items() if k != "time"}) for t in truths]
    )
    writer.close()
    records = read_ground_truth(out)
    kinds = {(r["subject"], r["kind"]) for r in records}
    for wanted in [("D012", "sos"), ("E017", "fall"), ("C003", "geofence_exit"), ("D077", "device_silent")]:
        assert wanted in kinds
    fall = next(r for r in records if r["subject"] == "E017")
    assert fall["time"] == "2026-03-02T10:32:00.000+08:00" and fall["device"] == "wear-0017"
    assert fall["detail"]["lying"] is True and 3.0 <= fall["detail"]["peak_g"] <= 8.0
    exit_ = next(r for r in records if r["subject"] == "C003")
    assert exit_["detail"] == {"duration_s": 1200.0, "fence": "school"}  # 10:45 on a Monday: in class
    assert LinkCommand.HALT in {link.command for link in links}
    e017 = sim.devices[FleetIndex(sim.fleet).resolve("E017")]
    assert e017.activity == "lying" and e017.open_alarms


def test_scripted_messages_are_on_the_wire(one_hour: Scenario) -> None:
    fleet = scenario_fleet(one_hour)
    assert fleet is not None
    sim = FleetSimulation(
        fleet,
        seed=1,
        start_ms=one_hour.start_ms,
        timeline=build_timeline(one_hour, fleet, 1),
        accel_mode=AccelMode.EVENTS,
    )
    frames = sim.advance(one_hour.end_ms).frames
    messages = [decode_uplink(f.wire.topic, f.wire.payload) for f in frames]
    assert any(isinstance(m, SosPress) and m.device_id == "card-0012" for m in messages)
    assert any(isinstance(m, SosCancel) and m.device_id == "card-0040" for m in messages)
    assert any(isinstance(m, FallSuspected) and m.device_id == "wear-0017" for m in messages)
    accel_17 = [m for m in messages if m.type == "accel" and m.device_id == "wear-0017"]
    assert len(accel_17) >= 25  # the event window around the fall
    silent_after = [
        f
        for f in frames
        if f.device == FleetIndex(fleet).resolve("card-0077") and f.sim_ms > one_hour.start_ms + 20 * 60_000
    ]
    assert silent_after == []


def test_adding_devices_does_not_change_the_others() -> None:
    start = 1_772_416_800_000
    small = FleetSimulation(fleet_from_mix(10), seed=4, start_ms=start, accel_mode=AccelMode.OFF)
    big = FleetSimulation(fleet_from_mix(40), seed=4, start_ms=start, accel_mode=AccelMode.OFF)
    first = [
        f.wire for f in small.advance(start + 3_600_000).frames if f.wire.topic.split("/")[3] == "card-0001"
    ]
    second = [
        f.wire for f in big.advance(start + 3_600_000).frames if f.wire.topic.split("/")[3] == "card-0001"
    ]
    assert first and first == second


BASE: dict[str, Any] = {"start": "2026-03-02T10:00:00+08:00", "duration": "1h", "fleet": {"total": 10}}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"at": "10:05", "subject": "D001", "kind": "teleport"}, "unknown event kind"),
        ({"at": "10:05", "subject": "E999", "kind": "fall"}, "not a device or subject"),
        ({"at": "10:05", "subject": "D001", "kind": "fall"}, "cannot do fall"),
        ({"at": "25:00", "subject": "D001", "kind": "sos"}, "bad"),
        ({"at": "10:05", "kind": "sos", "fraction": 0.5}, "only offline and reconnect_storm"),
    ],
)
def test_bad_scenarios_are_refused_clearly(event: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario = parse_scenario({**BASE, "events": [event]})
        fleet = scenario_fleet(scenario)
        assert fleet is not None
        build_timeline(scenario, fleet, 1)


def test_background_rates_and_storm() -> None:
    scenario = parse_scenario(
        {
            **BASE,
            "fleet": {"total": 100},
            "events": [{"at": "+10m", "kind": "reconnect_storm", "fraction": 0.5, "duration": "30s"}],
            "background": {"rates_per_device_per_day": {"sos": 24}},
        }
    )
    fleet = scenario_fleet(scenario)
    assert fleet is not None
    timeline = build_timeline(scenario, fleet, 1)
    assert 50 < sum(e.kind == "sos" for e in timeline) < 160  # ≈ 100 devices × 1 per hour
    offline = [e for e in timeline if e.kind == "offline"]
    assert 30 < len(offline) < 70 and all(not e.truth for e in offline)
    assert sum(e.kind == "_online" for e in timeline) == len(offline)
    assert [e.kind for e in timeline if e.device == -1] == ["reconnect_storm"]


def test_mix_and_ids() -> None:
    fleet = fleet_from_mix(10, parse_mix("card=0.5,wearable=0.4,child=0.1"))
    assert [d.device_id for d in fleet][:2] == ["card-0001", "card-0002"]
    assert [d.subject_id for d in fleet if d.kind == "child_monitor"] == ["C001"]
    index = FleetIndex(fleet)
    assert fleet[index.resolve("E004")].device_id == "wear-0004"
    assert fleet[index.resolve("D5")].device_id == "card-0005"
    with pytest.raises(FleetError):
        parse_mix("card=x")
    with pytest.raises(FleetError):
        parse_mix("phone=1")


def test_events_on_a_dead_device_are_marked_in_the_truth() -> None:
    scenario = parse_scenario(
        {
            **BASE,
            "events": [
                {"at": "10:05", "device": "card-0001", "kind": "silent"},
                {"at": "10:10", "device": "card-0001", "kind": "sos"},
            ],
        }
    )
    fleet = scenario_fleet(scenario)
    assert fleet is not None
    sim = FleetSimulation(
        fleet, seed=1, start_ms=scenario.start_ms, timeline=build_timeline(scenario, fleet, 1)
    )
    adv = sim.advance(scenario.end_ms)
    sos = next(t for t in adv.truths if t.kind == "sos")
    assert sos.detail == {"device_off": True}
    assert not any(f.wire.topic == "anxin/v1/up/card-0001/sos" for f in adv.frames)


def test_first_periodic_sos_can_be_pinned_for_the_demo() -> None:
    start = 1_764_513_600_000
    pinned = FleetSimulation(
        fleet_from_mix(10), seed=3, start_ms=start, accel_mode=AccelMode.OFF, sos_every_s=3600, first_sos_s=3
    )
    sos = [t for t in pinned.advance(start + 10_000).truths if t.kind == "sos"]
    assert [t.ts for t in sos] == [start + 3_000]
