"""``anxin sim``: run a simulated device fleet against an MQTT broker (or, with --dry-run, without one)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from firmware_sim.faults import FaultSpecError, parse_faults
from firmware_sim.fleet import DEFAULT_MIX, DeviceSpec, FleetError, fleet_from_mix, load_fleet, parse_mix
from firmware_sim.groundtruth import GroundTruthWriter
from firmware_sim.manifest import fleet_manifest
from firmware_sim.models import AccelMode
from firmware_sim.runner import RunConfig, run_simulation
from firmware_sim.scenario import Scenario, ScenarioError, build_timeline, load_scenario, scenario_fleet
from firmware_sim.settings import SimSettings
from firmware_sim.simulation import FleetSimulation
from firmware_sim.timeparse import TimeFormatError, parse_duration_s, parse_start
from firmware_sim.transport import TransportError, load_credentials

log = logging.getLogger(__name__)

EPILOG = """\
examples:
  anxin sim --devices 10000 --mix card=0.5,wearable=0.4,child=0.1 --duration 60s
  anxin sim --scenario scenarios/one-hour.yaml --seed 1 --speed 60 --ground-truth gt.jsonl
  anxin sim --scenario scenarios/one-hour.yaml --dry-run --ground-truth gt.jsonl   # no broker, instant
  anxin sim --devices 200 --faults duplicate=0.01,reorder=0.01,malformed=0.001,skew=300

device ids: card-0001…, wear-0001…, kid-0001…; scenario subjects D001 = card-0001, E017 = wear-0017,
C003 = kid-0003 (see docs/simulator.md). Environment: ANXIN_SIM_MQTT_URL, ANXIN_SIM_CONNECT_CONCURRENCY,
ANXIN_SIM_KEEPALIVE_S. The process raises its open-file limit to fit one socket per device.
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sim",
        help="simulate a fleet of devices against an MQTT broker",
        description="模拟设备群 / simulate SOS cards, fall wearables, child monitors: one MQTT session each.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=main)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mqtt-url",
        help="broker, mqtt://host:port or mqtts://host:8883 for TLS "
        "(default $ANXIN_SIM_MQTT_URL or mqtt://127.0.0.1:1883)",
    )
    parser.add_argument(
        "--ca-file", type=Path, help="CA certificate of the broker's TLS listener (env ANXIN_SIM_CA_FILE)"
    )
    parser.add_argument(
        "--credentials",
        type=Path,
        help="JSON file of device id -> broker secret; each device logs in as itself "
        "(env ANXIN_SIM_CREDENTIALS_FILE; `anxin broker sync --issue-missing FILE` writes one)",
    )
    parser.add_argument("--devices", type=int, help="number of devices (split by --mix)")
    parser.add_argument("--mix", default=None, help="shares per kind, e.g. card=0.5,wearable=0.4,child=0.1")
    parser.add_argument("--fleet", type=Path, help="fleet YAML: counts and/or an explicit device list")
    parser.add_argument(
        "--scenario", type=Path, help="scenario YAML (scripted events, background rates, faults)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed; same seed, same run (default 1)")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per wall second (default 1)"
    )
    parser.add_argument(
        "--duration", help="simulated time to run, e.g. 60s, 1h (default: scenario's, else forever)"
    )
    parser.add_argument("--start", help="simulated start time, ISO 8601 (default: scenario's, else now)")
    parser.add_argument("--ground-truth", type=Path, metavar="OUT.jsonl", help="write injected events here")
    parser.add_argument(
        "--faults",
        help="per-message fault rates (duplicate, reorder, malformed, oversized, spoof, mismatch); skew=S",
    )
    parser.add_argument(
        "--accel-mode",
        choices=[m.value for m in AccelMode],
        default=AccelMode.FULL.value,
        help="full: 1 s batches always (≈1 msg/s per wearable); events: only 30 s windows around falls and "
        "hard bumps; off: no acceleration",
    )
    parser.add_argument(
        "--sos-every", type=float, metavar="SECONDS", help="some device presses SOS this often"
    )
    parser.add_argument(
        "--manifest", type=Path, help="write the fleet (subjects, child fences) as JSON and go on"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="no broker: run the models as fast as possible"
    )
    parser.add_argument(
        "--messages", type=Path, help="with --dry-run: write every message (topic, payload) as JSONL"
    )
    parser.add_argument("--no-progress", action="store_true", help="no live progress line on stderr")


def build_config(args: argparse.Namespace) -> tuple[RunConfig, Scenario | None]:
    settings = SimSettings()
    if args.ca_file:
        settings = settings.model_copy(update={"ca_file": args.ca_file})
    credentials_file = args.credentials or settings.credentials_file
    credentials = load_credentials(credentials_file) if credentials_file else {}
    scenario = load_scenario(args.scenario) if args.scenario else None
    fleet: list[DeviceSpec] | None
    if args.fleet:
        fleet = load_fleet(args.fleet)
    elif args.devices is not None:
        fleet = fleet_from_mix(args.devices, parse_mix(args.mix) if args.mix else DEFAULT_MIX)
    else:
        fleet = scenario_fleet(scenario) if scenario else None
        fleet = fleet if fleet is not None else fleet_from_mix(100)
    start_ms = scenario.start_ms if scenario else None
    if args.start:
        start_ms = int(parse_start(args.start).timestamp() * 1000)
    duration = (
        parse_duration_s(args.duration) if args.duration else (scenario.duration_s if scenario else None)
    )
    faults_text = args.faults
    if scenario and scenario.spec.faults:
        merged = {**scenario.spec.faults, **parse_faults(args.faults).rates}
        faults_text = ",".join(f"{k}={v}" for k, v in merged.items())
    timeline = []
    if scenario:
        if start_ms != scenario.start_ms:
            raise ScenarioError("--start cannot move a scenario; edit its start instead")
        timeline = build_timeline(scenario, fleet, args.seed)
    if args.speed <= 0:
        raise TimeFormatError("--speed must be positive")
    config = RunConfig(
        mqtt_url=args.mqtt_url or settings.mqtt_url,
        fleet=fleet,
        seed=args.seed,
        speed=args.speed,
        start_ms=start_ms,
        duration_s=duration,
        timeline=timeline,
        faults=parse_faults(faults_text),
        accel_mode=AccelMode(args.accel_mode),
        ground_truth=args.ground_truth,
        sos_every_s=args.sos_every,
        progress=not args.no_progress,
        settings=settings,
        credentials=credentials,
    )
    return config, scenario


def dry_run(config: RunConfig, messages: Path | None) -> dict[str, Any]:
    """Run the models without a broker, as fast as the CPU allows."""
    if config.duration_s is None:
        raise TimeFormatError("--dry-run needs a duration (a scenario or --duration)")
    start_ms = config.start_ms or int(time.time() * 1000)
    sim = FleetSimulation(
        config.fleet,
        seed=config.seed,
        start_ms=start_ms,
        timeline=config.timeline,
        faults=config.faults,
        accel_mode=config.accel_mode,
        sos_every_s=config.sos_every_s,
    )
    truth = GroundTruthWriter(config.ground_truth) if config.ground_truth else None
    out = messages.open("wb") if messages else None
    began = time.monotonic()
    frames = truths = 0
    end_ms = start_ms + int(config.duration_s * 1000)
    try:
        for t in range(start_ms, end_ms, 60_000):
            adv = sim.advance(min(end_ms, t + 60_000))
            frames += len(adv.frames)
            truths += len(adv.truths)
            if truth:
                truth.write(adv.truths)
            if out:
                for f in adv.frames:
                    out.write(
                        orjson.dumps(
                            {"t": f.sim_ms, "topic": f.wire.topic, "payload": f.wire.payload.decode()}
                        )
                    )
                    out.write(b"\n")
    finally:
        if truth:
            truth.close()
        if out:
            out.close()
    return {
        "devices": len(config.fleet),
        "messages": frames,
        "truths": truths,
        "wall_s": time.monotonic() - began,
    }


def main(args: argparse.Namespace) -> int:
    try:
        config, _ = build_config(args)
        if args.manifest:
            args.manifest.write_bytes(orjson.dumps(fleet_manifest(config), option=orjson.OPT_INDENT_2))
        if args.dry_run:
            summary = dry_run(config, args.messages)
        else:
            result = asyncio.run(run_simulation(config))
            summary = {
                "devices": result.devices,
                "connected_s": round(result.connect_s, 2),
                "run_s": round(result.run_s, 2),
                "messages": result.messages,
                "msg_per_s": round(result.messages_per_s, 1),
                "errors": result.stats.errors,
                "dropped": result.stats.dropped_offline + result.stats.dropped_backpressure,
                "reconnects": result.stats.reconnects,
                "truths": result.truths,
            }
    except (ScenarioError, FleetError, FaultSpecError, TransportError, TimeFormatError, OSError) as exc:
        sys.stderr.write(f"anxin sim: {exc}\n")
        return 2
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")
    return 0
