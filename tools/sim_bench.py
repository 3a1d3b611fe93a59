"""``anxin bench sim``: how many devices and messages per second one simulator process sustains.

Starts its own Mosquitto (the project config) unless --mqtt-url is given, a ``mosquitto_sub`` process
that counts what the broker really delivers, and runs the fleet for --duration wall seconds per row.
A row is *sustained* when every generated message was written to a socket, the broker delivered them,
and the simulated clock never fell behind (tick lag < 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from broker.runner import start_mosquitto
from contracts.topics import uplink_subtree
from firmware_sim.fleet import DEFAULT_MIX, fleet_from_mix, parse_mix
from firmware_sim.models import AccelMode
from firmware_sim.runner import RunConfig, run_simulation
from firmware_sim.transport import parse_mqtt_url, raise_fd_limit


def register(bench_sub: Any) -> None:
    parser: argparse.ArgumentParser = bench_sub.add_parser(
        "sim", help="simulator scale: devices and messages/s one process sustains", description=__doc__
    )
    parser.add_argument("--devices", default="10000", help="comma-separated fleet sizes (default 10000)")
    parser.add_argument("--speeds", default="1", help="comma-separated clock speeds (rate multipliers)")
    parser.add_argument("--mix", default=None, help="kind shares (default card=0.5,wearable=0.4,child=0.1)")
    parser.add_argument("--accel-mode", choices=[m.value for m in AccelMode], default="full")
    parser.add_argument("--duration", type=float, default=60.0, help="wall seconds per row (default 60)")
    parser.add_argument("--mqtt-url", default=None, help="use this broker instead of starting Mosquitto")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.set_defaults(func=main)
    from tools.sim_falls_bench import register as register_falls

    register_falls(bench_sub)


def _count_uplinks(path: Path) -> int:
    """Messages the subscriber received, presence (connect/disconnect announcements) left out."""
    with path.open("rb") as f:
        return sum(1 for line in f if not line.rstrip().endswith(b"/presence"))


def measure(url: str, devices: int, speed: float, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    fleet = fleet_from_mix(devices, parse_mix(args.mix) if args.mix else DEFAULT_MIX)
    host, port, _tls = parse_mqtt_url(url)
    counted = workdir / f"sub-{devices}-{speed}.txt"
    sub = None
    if shutil.which("mosquitto_sub"):
        sub = subprocess.Popen(
            ["mosquitto_sub", "-h", host, "-p", str(port), "-t", uplink_subtree(), "-F", "%t"],
            stdout=counted.open("wb"),
            stderr=subprocess.DEVNULL,
        )
    config = RunConfig(
        mqtt_url=url,
        fleet=fleet,
        seed=1,
        speed=speed,
        duration_s=args.duration * speed,
        accel_mode=AccelMode(args.accel_mode),
        progress=True,
    )
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    began = time.monotonic()
    result = asyncio.run(run_simulation(config))
    wall = time.monotonic() - began
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    delivered = None
    if sub is not None:
        time.sleep(1.0)  # let the subscriber write out the last deliveries before it is stopped
        sub.terminate()
        sub.wait(5)
        delivered = _count_uplinks(counted)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    sustained = (
        result.messages >= result.generated
        and result.stats.errors == 0
        and result.max_lag_s < 1.0
        and result.stats.dropped_backpressure == 0
        and (delivered is None or delivered >= result.messages)
    )
    return {
        "devices": devices,
        "connected": result.stats.connects,
        "connect_s": round(result.connect_s, 1),
        "speed": speed,
        "run_s": round(result.run_s, 1),
        "generated": result.generated,
        "published": result.messages,
        "msg_per_s": round(result.messages_per_s),
        "broker_delivered": delivered,
        "errors": result.stats.errors,
        "dropped": result.stats.dropped_offline + result.stats.dropped_backpressure,
        "max_lag_s": round(result.max_lag_s, 3),
        "sim_cpu_pct": round(100 * cpu / wall),
        "sustained": sustained,
    }


def main(args: argparse.Namespace) -> int:
    sizes = [int(x) for x in args.devices.split(",")]
    speeds = [float(x) for x in args.speeds.split(",")]
    raise_fd_limit(max(sizes) + 1024)
    workdir = Path(tempfile.mkdtemp(prefix="anxin-bench-sim-"))
    broker = None if args.mqtt_url else start_mosquitto(workdir=workdir / "mosquitto", persistence=False)
    url = args.mqtt_url or (broker.url if broker else "")
    rows = []
    try:
        for devices in sizes:
            for speed in speeds:
                row = measure(url, devices, speed, args, workdir)
                rows.append(row)
                print(orjson.dumps(row).decode(), flush=True)
    finally:
        if broker is not None:
            broker.stop()
    if args.json:
        args.json.write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    return 0
