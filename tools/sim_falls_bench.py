"""``anxin bench sim-falls``: do the simulated falls look like falls to the gateway's detector?

Runs wearables through the daily routine with background falls and hard bumps (no broker: the pure
simulation), feeds every acceleration batch to :class:`edge.detection.fall.FallDetector` and scores the
alarms against the ground truth: a fall counts as found when an alarm comes 0-15 s after it; every
other alarm is a false alarm. A realism check of the simulator, not an accuracy figure of the detector.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import orjson

from contracts.topics import UplinkChannel, parse_uplink_topic
from edge.detection.fall import FallDetector
from firmware_sim.scenario import build_timeline, parse_scenario, scenario_fleet
from firmware_sim.simulation import FleetSimulation

FOUND_WITHIN_MS = (-2_000, 15_000)


def register(bench_sub: Any) -> None:
    parser: argparse.ArgumentParser = bench_sub.add_parser(
        "sim-falls", help="simulated falls and bumps through the gateway's fall detector", description=__doc__
    )
    parser.add_argument("--wearables", type=int, default=20)
    parser.add_argument("--hours", type=float, default=6.0, help="simulated hours from 08:00 (default 6)")
    parser.add_argument("--falls-per-day", type=float, default=6.0, help="per wearable (default 6)")
    parser.add_argument("--bumps-per-day", type=float, default=24.0, help="hard sit-downs per wearable")
    parser.add_argument("--seed", type=int, default=1)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    scenario = parse_scenario(
        {
            "start": "2026-03-02T08:00:00+08:00",
            "duration": args.hours * 3600,
            "fleet": {"counts": {"wearable": args.wearables}},
            "background": {
                "rates_per_device_per_day": {"fall": args.falls_per_day, "adl_bump": args.bumps_per_day}
            },
        }
    )
    fleet = scenario_fleet(scenario) or []
    sim = FleetSimulation(
        fleet, seed=args.seed, start_ms=scenario.start_ms, timeline=build_timeline(scenario, fleet, args.seed)
    )
    detectors = {d.device_id: FallDetector(d.device_id) for d in fleet}
    alarms: list[tuple[str, int]] = []
    truths = []
    began = time.monotonic()
    t = scenario.start_ms
    while t < scenario.end_ms:
        t = min(scenario.end_ms, t + 600_000)
        adv = sim.advance(t)
        truths.extend(adv.truths)
        for frame in adv.frames:
            if parse_uplink_topic(frame.wire.topic).channel is UplinkChannel.ACCEL:
                batch = orjson.loads(frame.wire.payload)
                samples = np.asarray(batch["samples"], dtype=float)
                for event in detectors[batch["device_id"]].update(
                    samples, batch["ts"], float(batch["rate_hz"])
                ):
                    alarms.append((batch["device_id"], int(event.t_ms)))
    falls = [tr for tr in truths if tr.kind == "fall" and not tr.detail.get("already_down")]
    matched: set[int] = set()
    found = 0
    for tr in falls:
        hits = [
            k
            for k, (device, at) in enumerate(alarms)
            if device == tr.device and FOUND_WITHIN_MS[0] <= at - tr.ts <= FOUND_WITHIN_MS[1]
        ]
        found += bool(hits)
        matched.update(hits)
    figures = {
        "wearables": args.wearables,
        "hours": args.hours,
        "falls": len(falls),
        "found": found,
        "bumps": sum(tr.kind == "adl_bump" for tr in truths),
        "false_alarms": len(alarms) - len(matched),
        "device_hours": args.wearables * args.hours,
        "wall_s": round(time.monotonic() - began, 1),
    }
    print(orjson.dumps(figures).decode())
    return 0
