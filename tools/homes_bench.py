"""``anxin bench homes``: simulated homes with the smart service pack through the edge's home detectors.

Each home is a :class:`~firmware_sim.models.home_hub.HomeHub` living its simulated routine for weeks
(no broker: the pure models), with scripted events drawn per home-week: one smoke, one gas and one
water-leak alarm, a pull-cord, on some weeks a morning where nobody gets up, a night exit with no return
and a stuck detector alarming every 4 minutes for 3 hours. Every message goes through
``edge.detection.home.HomeMonitor``; its events are scored against the script.

The routine is simulated (firmware_sim/models/home_routine.py), not recorded in real homes: the
inactivity figures say how the detector behaves on *that* routine, not on real people.

Reported: each hazard's detection delay from its message (target ≤ 5 s), the inactivity alarm's delay
from the home's usual getting-up time (target ≤ 60 min), false inactivity alarms per home-week (target ≤
1 per home-month), night wandering, and what the stuck detectors raised (target: the first alarm, then one
``sensor_fault``).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from contracts import AlarmReceived
from contracts.home import STANDARD_PACK, PullCordAlarm, sensor_id
from firmware_sim.models.base import Injection
from firmware_sim.models.home_hub import HomeHub, day_start_ms, local_day
from firmware_sim.randomness import device_rng

START_MS = 1_772_380_800_000  # 2026-03-02 00:00 CST, a Monday
DAY_MS = 86_400_000
MIN_MS = 60_000
HAZARD_TARGET_MS = 5_000
INACTIVITY_TARGET_MIN = 60.0
HAZARD_OF = {"smoke": "smoke", "gas": "gas", "tap_running": "water_leak"}
SENSOR_OF = {"smoke": "smoke", "gas": "gas", "tap_running": "water"}


@dataclass(frozen=True, slots=True)
class Scripted:
    t_ms: int
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


def register(bench_sub: Any) -> None:
    parser: argparse.ArgumentParser = bench_sub.add_parser(
        "homes",
        help="smart service pack: simulated homes through the home detectors (hazards, inactivity)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--homes", type=int, default=20, help="simulated homes (default 20)")
    parser.add_argument("--weeks", type=int, default=8, help="weeks of routine per home (default 8)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the same-run baseline (fixed care-plan time, no learning)",
    )
    parser.set_defaults(func=main)


def script_home(rng: np.random.Generator, weeks: int) -> list[Scripted]:
    """The scripted events of one home (sorted by time)."""
    events: list[Scripted] = []
    for week in range(weeks):
        base = START_MS + week * 7 * DAY_MS
        stuck_day = int(rng.integers(7)) if rng.random() < 0.25 and week >= 1 else None
        stuck_sensor = str(rng.choice(["smoke", "gas"]))
        if stuck_day is not None:
            t = base + stuck_day * DAY_MS + 14 * 60 * MIN_MS
            events.append(Scripted(t, "stuck_detector", {"sensor": stuck_sensor, "duration_s": 3 * 3600.0}))
        for kind in ("smoke", "gas", "tap_running", "pull_cord"):
            day = int(rng.integers(7))
            while stuck_day is not None and day == stuck_day:
                day = int(rng.integers(7))
            minute = float(rng.uniform(9 * 60, 20 * 60))
            events.append(Scripted(base + day * DAY_MS + int(minute * MIN_MS), kind, {"duration_s": 600.0}))
        if week >= 1 and rng.random() < 0.5:  # after a week of learning: nobody gets up one morning
            day = int(rng.integers(7))
            events.append(
                Scripted(base + day * DAY_MS + 270 * MIN_MS, "nobody_up", {"duration_s": 12 * 3600.0})
            )
        if rng.random() < 0.5:
            day = int(rng.integers(1, 7))
            minute = float(rng.uniform(60, 180))
            events.append(
                Scripted(base + day * DAY_MS + int(minute * MIN_MS), "wandering", {"duration_s": 7200.0})
            )
    return sorted(events, key=lambda e: e.t_ms)


@dataclass
class HomeRun:
    hub: HomeHub
    script: list[Scripted]
    events: list[Any]
    messages: int
    seconds: float


def run_home(hub_id: str, seed: int, weeks: int, *, learn: bool = True) -> HomeRun:
    """One home for ``weeks``; ``learn=False`` is the same-run baseline: the care plan's fixed waking
    time (07:00 + 90 min grace, 3 h quiet spells), nothing learned from the home."""
    from edge.detection.home import HomeConfig, HomeMonitor, SensorInfo
    from edge.detection.home.messages import observe

    hub = HomeHub(hub_id, hub_id, device_rng(seed, hub_id), START_MS)
    sensors = {
        sensor_id(hub_id, s.suffix): SensorInfo(
            sensor_id=sensor_id(hub_id, s.suffix), kind=s.kind.value, room=s.room.value
        )
        for s in STANDARD_PACK
    }
    config = HomeConfig() if learn else HomeConfig(min_days=10**9, min_quiet_history=10**9)
    monitor = HomeMonitor(hub_id, sensors, config)
    script = script_home(device_rng(seed, hub_id, "script"), weeks)
    events: list[Any] = []
    messages = 0
    busy = 0.0

    def feed(outgoing: list[Any]) -> None:
        nonlocal messages, busy
        for out in outgoing:
            t0 = time.perf_counter()
            events.extend(observe(monitor, out.message))
            busy += time.perf_counter() - t0
            messages += 1
            if isinstance(out.message, PullCordAlarm):  # the gateway's confirmation: the hub stops repeating
                m = out.message
                key = f"{m.device_id}:{m.seq}"
                received = AlarmReceived(
                    device_id=m.device_id, ts=m.ts, ref_seq=m.seq, ref_boot=m.boot, incident_key=key
                )
                hub.on_downlink(received, m.ts)

    for item in script:
        feed(hub.step(item.t_ms))
        feed(hub.inject(Injection(item.kind, dict(item.params)), item.t_ms))
    feed(hub.step(START_MS + weeks * 7 * DAY_MS))
    return HomeRun(hub, script, events, messages, busy)


def score(runs: list[HomeRun], weeks: int) -> dict[str, Any]:  # noqa: PLR0915 - one pass, one table
    hazard_delays: dict[str, list[float]] = {k: [] for k in HAZARD_OF}
    hazard_missed: dict[str, int] = dict.fromkeys(HAZARD_OF, 0)
    inactivity_vs_usual: list[float] = []
    inactivity_vs_planned: list[float] = []
    inactivity_missed = 0
    missed_after_night_exit = 0  # the home looked empty: the night-wandering P2 already stood
    false_inactivity = 0
    false_inactivity_after_learning = 0
    wandering_delays: list[float] = []
    wandering_missed = 0
    false_night = 0
    stuck_p1: list[int] = []
    stuck_faults: list[int] = []
    for run in runs:
        hub, events = run.hub, run.events
        used: set[int] = set()
        nobody_days = {local_day(s.t_ms) for s in run.script if s.kind == "nobody_up"}
        for item in run.script:
            if item.kind in HAZARD_OF:
                sid = hub.sensors[SENSOR_OF[item.kind]]
                match = [
                    i
                    for i, e in enumerate(events)
                    if e.kind.value == HAZARD_OF[item.kind] and e.sensor_id == sid and e.onset_ms == item.t_ms
                ]
                if match and events[match[0]].t_ms - item.t_ms <= HAZARD_TARGET_MS:
                    hazard_delays[item.kind].append(float(events[match[0]].t_ms - item.t_ms))
                    used.add(match[0])
                else:
                    hazard_missed[item.kind] += 1
            elif item.kind == "nobody_up":
                day = local_day(item.t_ms)
                found = [
                    e
                    for e in events
                    if e.kind.value == "inactivity" and local_day(e.t_ms) == day and e.t_ms >= item.t_ms
                ]
                if not found:
                    inactivity_missed += 1
                    night_exit = [
                        w
                        for w in run.script
                        if w.kind == "wandering" and 0 < item.t_ms - w.t_ms < 6 * 3_600_000
                    ]
                    missed_after_night_exit += bool(night_exit)
                    continue
                usual_ms = day_start_ms(day) + hub.habits.wake_min * MIN_MS
                planned_ms = day_start_ms(day) + hub.plan(day).up_min * MIN_MS
                inactivity_vs_usual.append((found[0].t_ms - usual_ms) / MIN_MS)
                inactivity_vs_planned.append((found[0].t_ms - planned_ms) / MIN_MS)
            elif item.kind == "wandering":
                found = [
                    e
                    for e in events
                    if e.kind.value == "night_wandering" and item.t_ms <= e.t_ms <= item.t_ms + 3_600_000
                ]
                if found:
                    wandering_delays.append((found[0].t_ms - item.t_ms) / MIN_MS)
                else:
                    wandering_missed += 1
            elif item.kind == "stuck_detector":
                sid = hub.sensors[str(item.params["sensor"])]
                end = item.t_ms + int(item.params["duration_s"] * 1000) + 3_600_000
                spell = [e for e in events if e.sensor_id == sid and item.t_ms <= e.t_ms <= end]
                stuck_p1.append(sum(e.kind.value in ("smoke", "gas") for e in spell))
                stuck_faults.append(sum(e.kind.value == "sensor_fault" for e in spell))
        wander_nights = [s.t_ms for s in run.script if s.kind == "wandering"]
        for e in events:
            if e.kind.value == "inactivity" and local_day(e.t_ms) not in nobody_days:
                false_inactivity += 1
                false_inactivity_after_learning += e.t_ms >= START_MS + 7 * DAY_MS
            elif e.kind.value in ("night_wandering", "door_open_night") and not any(
                w <= e.t_ms <= w + 3_600_000 for w in wander_nights
            ):
                false_night += 1
    home_weeks = len(runs) * weeks

    def stats(values: list[float]) -> dict[str, float | int | None]:
        if not values:
            return {"n": 0, "median": None, "p95": None, "max": None}
        arr = np.asarray(values)
        return {
            "n": len(values),
            "median": round(float(np.median(arr)), 1),
            "p95": round(float(np.quantile(arr, 0.95)), 1),
            "max": round(float(arr.max()), 1),
        }

    return {
        "homes": len(runs),
        "weeks": weeks,
        "home_weeks": home_weeks,
        "hazards_ms": {k: {**stats(v), "missed": hazard_missed[k]} for k, v in hazard_delays.items()},
        "inactivity_min_after_usual_start": {
            **stats(inactivity_vs_usual),
            "missed": inactivity_missed,
            "missed_after_a_night_exit": missed_after_night_exit,
        },
        "inactivity_min_after_that_days_plan": stats(inactivity_vs_planned),
        "false_inactivity": false_inactivity,
        "false_inactivity_per_home_week": round(false_inactivity / home_weeks, 4),
        "false_inactivity_after_learning_per_home_month": round(
            false_inactivity_after_learning / max(1, len(runs) * (weeks - 1)) * 30 / 7, 4
        ),
        "night_wandering_min": {**stats(wandering_delays), "missed": wandering_missed},
        "false_night_door": false_night,
        "stuck_spells": len(stuck_p1),
        "stuck_hazards_raised": stuck_p1,
        "stuck_sensor_faults": stuck_faults,
    }


def main(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    runs = [run_home(f"hub-{n:04d}", args.seed, args.weeks) for n in range(1, args.homes + 1)]
    wall = time.perf_counter() - t0
    figures = score(runs, args.weeks)
    messages = sum(r.messages for r in runs)
    busy = sum(r.seconds for r in runs)
    figures["messages"] = messages
    figures["detector_us_per_message"] = round(busy / max(1, messages) * 1e6, 2)
    figures["wall_s"] = round(wall, 1)
    print(
        f"homes {figures['homes']} x {args.weeks} weeks = {figures['home_weeks']} home-weeks"
        " (simulated routine)"
    )
    print(
        f"messages {messages:,}, detector {figures['detector_us_per_message']} us/message, wall {wall:.1f} s"
    )
    for kind, row in figures["hazards_ms"].items():
        print(
            f"hazard {kind:<12} n={row['n']:<4} delay from message median {row['median']} ms, "
            f"max {row['max']} ms, missed {row['missed']} (target <= 5000 ms)"
        )
    ina = figures["inactivity_min_after_usual_start"]
    print(
        f"nobody up: n={ina['n'] + ina['missed']} missed {ina['missed']} "
        f"({ina['missed_after_a_night_exit']} the morning after a night exit: the home looked empty, "
        "the wandering P2 stood); alarm after the usual getting-up time median "
        f"{ina['median']} min, p95 {ina['p95']}, max {ina['max']} (target <= 60 min)"
    )
    print(
        f"false inactivity: {figures['false_inactivity']} in {figures['home_weeks']} home-weeks "
        f"({figures['false_inactivity_per_home_week']}/home-week; after the learning week "
        f"{figures['false_inactivity_after_learning_per_home_month']}/home-month, target <= 1)"
    )
    wander = figures["night_wandering_min"]
    print(
        f"night wandering: n={wander['n']} missed {wander['missed']}, median {wander['median']} min after "
        f"the door; false night-door alarms {figures['false_night_door']}"
    )
    print(
        f"stuck detectors: {figures['stuck_spells']} spells; hazards raised per spell "
        f"{figures['stuck_hazards_raised']}; sensor_fault per spell {figures['stuck_sensor_faults']}"
    )
    if not args.no_baseline:
        fixed = [
            run_home(f"hub-{n:04d}", args.seed, args.weeks, learn=False) for n in range(1, args.homes + 1)
        ]
        base = score(fixed, args.weeks)
        figures["baseline_fixed_care_plan_time"] = base
        b_ina, b_false = base["inactivity_min_after_usual_start"], base["false_inactivity"]
        print(
            "baseline, same run (care plan 07:00 + 90 min, nothing learned): nobody up median "
            f"{b_ina['median']} min, p95 {b_ina['p95']}, max {b_ina['max']}, missed {b_ina['missed']}; "
            f"false inactivity {b_false} ({base['false_inactivity_per_home_week']}/home-week)"
        )
        if ina["median"] and b_ina["median"]:
            print(
                f"learned / baseline: median delay x{ina['median'] / b_ina['median']:.2f}, "
                f"p95 x{ina['p95'] / b_ina['p95']:.2f}; "
                f"false inactivity {figures['false_inactivity']} vs {b_false}"
            )
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    return 0
