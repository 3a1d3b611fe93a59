"""``anxin bench district``: a district on this machine — SOS press → console event under load.

Separate processes, as deployed: ``mosquitto`` (the project's config), ``anxin edge --workers 2``,
``anxin cloud --workers 2`` on a fresh PostgreSQL database (made and dropped here), ``anxin sim`` with
``--devices`` wearables (≥ 10,000; one MQTT session each, 1 s acceleration batches, vitals, status),
and this process: SOS presses on MQTT (each a new card, so each opens an incident) and an operator's
live stream (SSE) noting when each incident appears on the console.

1. **Reference**: Mosquitto client → client at QoS 1 on the same broker (the raw rate).
2. **Idle**: presses with no other traffic (the floor), after ``--warmup-seconds`` of first presses
   (reported on their own: a fresh worker's first requests pay first-use costs).
3. **Ladder**: the simulator's 10,000 devices offer rising telemetry rates (``--rates``); a step is
   sustained when the gateway workers shed nothing and their ingest lag stays under 1 s. Presses go on
   throughout; the highest sustained step gives the district's telemetry rate and its SOS latency.

Per phase: telemetry offered (the simulator's publishes), handled and shed (the gateways' ``/metrics``),
press → console ``incident.created`` p50/p95/p99 and press → raw subscriber (the broker's own share).
Figures are ratios to the reference of the same run: the machine is shared, say so when you quote them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from broker.runner import free_port, start_mosquitto, wait_for_port
from tools.district_probe import Console, Presses
from tools.ladder_bench import reference_rate
from tools.overload_bench import MSG_PER_WEARABLE_S, gateway_state, percentile

EDGE_ID = "edge-bench"
EDGE_TOKEN = "bench-edge-token-0123456789"
PASSWORD = "bench-operator-pw-0123"
GATEWAY_WORKERS = 2
CLOUD_WORKERS = 2


@dataclass
class Phase:
    name: str
    seconds: float
    offered_per_s: float
    handled_per_s: float
    shed_per_s: float
    lag_s: float
    presses: int
    on_console: int
    console_ms: dict[str, float]
    ack_ms: dict[str, float]  # press → the gateway's alarm_received at the card
    raw_ms: dict[str, float]
    # the same presses hop by hop, on the wall clock (the gateway's and the center's stamps are whole ms):
    # press → gateway receipt (edge_ts), → stored and answered (alarm_received at the card), → center
    # intake handler (cloud_ts), → the operator's stream
    hops_ms: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def sustained(self) -> bool:
        return self.shed_per_s == 0 and self.lag_s < 1.0

    def simulator_bound(self, target: float) -> bool:
        """Whether the simulator published well under the rate asked of it (it, not the district, was
        the limit of this step)."""
        return self.offered_per_s < 0.9 * target


def _percentiles(values: list[float]) -> dict[str, float]:
    return {f"p{p}": round(percentile(values, p / 100), 1) for p in (50, 95, 99)} | {
        "max": round(max(values or [float("nan")]), 1)
    }


def describe(phase: Phase) -> str:
    c, a, r = phase.console_ms, phase.ack_ms, phase.raw_ms
    return (
        f"{phase.name:<16} offered {phase.offered_per_s:7,.0f}/s  handled {phase.handled_per_s:7,.0f}/s  "
        f"shed {phase.shed_per_s:6,.0f}/s  lag {phase.lag_s:.1f} s  presses {phase.presses} "
        f"(on console {phase.on_console})\n"
        f"    press → console ms  p50 {c['p50']:7.1f}  p95 {c['p95']:7.1f}  p99 {c['p99']:7.1f}\n"
        f"    press → ack ms      p50 {a['p50']:7.1f}  p95 {a['p95']:7.1f}  p99 {a['p99']:7.1f}\n"
        f"    press → raw sub ms  p50 {r['p50']:7.1f}  p95 {r['p95']:7.1f}  p99 {r['p99']:7.1f}"
        + "".join(
            f"\n    hop {hop:<22} p50 {h['p50']:7.1f}  p95 {h['p95']:7.1f}  p99 {h['p99']:7.1f}"
            f"  max {h['max']:7.1f}"
            for hop, h in phase.hops_ms.items()
        )
    )


def hops(presses: Presses, console: Console, pressed: list[str]) -> dict[str, dict[str, float]]:
    """Per-hop percentiles of the presses that reached the console (see :attr:`Phase.hops_ms`)."""
    steps: dict[str, list[float]] = {"press→gateway": [], "gateway→answered": [], "answered→center": [],
                                     "center→console": []}  # fmt: skip
    for d in pressed:
        if d not in console.stamps or d not in presses.acked:
            continue
        arrived, edge_ts, cloud_ts = console.stamps[d]
        press = presses.pressed_wall_ms[d]
        answered = press + (presses.acked[d] - presses.pressed[d]) * 1000
        steps["press→gateway"].append(edge_ts - press)
        steps["gateway→answered"].append(answered - edge_ts)
        steps["answered→center"].append(cloud_ts - answered)
        steps["center→console"].append(arrived - cloud_ts)
    return {name: _percentiles(values) for name, values in steps.items() if values}


@contextlib.asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    name = f"anxin_bench_{secrets.token_hex(4)}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def _spawn(
    argv: list[str], env: dict[str, str], log: Path, *, stdout: int = subprocess.DEVNULL
) -> asyncio.subprocess.Process:
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "anxin", *argv, env=env, stdout=stdout, stderr=out
        )


async def _healthy(url: str, proc: asyncio.subprocess.Process, timeout_s: float) -> None:
    """Poll the center's /healthz until both workers listen for each other (another process: polled;
    a new connection each time, so either worker answers)."""
    listening: set[str] = set()
    async with asyncio.timeout(timeout_s):
        while len(listening) < CLOUD_WORKERS:
            if proc.returncode is not None:
                raise RuntimeError(f"the center exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError, ValueError):
                async with httpx.AsyncClient(timeout=5, headers={"Connection": "close"}) as http:
                    body = (await http.get(f"{url}/healthz")).json()
                if body.get("live_relay") == "listening":
                    listening.add(body["worker"])
            await asyncio.sleep(0.2)


async def _gateways(http: httpx.AsyncClient, urls: list[str]) -> tuple[float, float, float]:
    """(telemetry taken, shed, ingest lag) over the gateway workers; taken = accepted + rejected (a
    repeated sequence number after the fleet reconnects is read, checked and refused: work all the same)."""
    taken = shed = lag = 0.0
    for url in urls:
        accepted, dropped, behind = await gateway_state(http, url)
        text_ = (await http.get(url)).text
        for family in text_string_to_metric_families(text_):
            for sample in family.samples:
                if sample.name == "anxin_edge_rejected_total":
                    taken += sample.value
        taken, shed, lag = taken + accepted, shed + dropped, max(lag, behind)
    return taken, shed, lag


def sim_commands(
    url: str, devices: int, rate: float, seconds: float, *, processes: int, step: int, workdir: Path
) -> list[list[str]]:
    """``anxin sim`` commands, ``processes`` of them, that together offer about ``rate`` msg/s from
    ``devices`` wearables. Each step's fleet has ids of its own (``w<step>s<k>-00001``…), so no device
    restarts its sequence numbers from an earlier step."""
    speed = rate / (devices * MSG_PER_WEARABLE_S)
    commands = []
    for k in range(processes):
        share = range(k * devices // processes, (k + 1) * devices // processes)
        fleet = workdir / f"fleet-{step}-{k}.json"  # JSON is YAML: the simulator reads it
        ids = [{"id": f"w{step}s{k}-{i:05d}", "kind": "wearable"} for i in share]
        fleet.write_bytes(orjson.dumps({"devices": ids}))
        commands.append([
            "sim", "--mqtt-url", url, "--fleet", str(fleet), "--speed", f"{speed:.4f}",
            "--duration", f"{(seconds + 15) * speed:.1f}s", "--accel-mode", "full", "--no-progress",
            "--seed", str(7 + k),
        ])  # fmt: skip
    return commands


async def run_phase(
    name: str,
    *,
    presses: Presses,
    console: Console,
    metrics: list[str],
    sims: list[list[str]],
    env: dict[str, str],
    workdir: Path,
    seconds: float,
    press_every: float,
) -> Phase:
    async with httpx.AsyncClient(timeout=10) as http:
        procs = [
            await _spawn(argv, env, workdir / f"sim-{k}.log", stdout=subprocess.PIPE)
            for k, argv in enumerate(sims)
        ]
        if procs:
            start = await _gateways(http, metrics)
            print(f"  {name}: the fleet connects ({len(procs)} simulator processes)…", flush=True)
            async with asyncio.timeout(300):
                while (await _gateways(http, metrics))[0] <= start[0] + 1000:
                    if any(proc.returncode is not None for proc in procs):
                        raise RuntimeError("a simulator exited early (see sim-*.log)")
                    await asyncio.sleep(0.5)  # another process's counters: polled
        handled0, shed0, _ = await _gateways(http, metrics)
        began = time.perf_counter()
        pressed: list[str] = []
        while time.perf_counter() - began < seconds:
            pressed.append(presses.press())
            await asyncio.sleep(press_every)  # pacing the presses (a load generator, not a wait)
        handled1, shed1, lag = await _gateways(http, metrics)
        elapsed = time.perf_counter() - began
        offered = 0.0
        for proc in procs:  # each runs its duration out, then says what it published per second
            out, _ = await asyncio.wait_for(proc.communicate(), 180)
            lines = out.decode(errors="replace").strip().splitlines()
            offered += float(orjson.loads(lines[-1])["msg_per_s"]) if lines else float("nan")
    await console.wait_for(pressed, timeout_s=20)
    stamps = {
        d: {"pressed_ms": presses.pressed_wall_ms[d], "acked_s": presses.acked.get(d, 0) - presses.pressed[d]}
        | dict(zip(("console_ms", "edge_ts", "cloud_ts"), console.stamps.get(d, (0, 0, 0)), strict=True))
        for d in pressed
    }  # per press, for a closer look at the processes' logs (kept in --workdir)
    (workdir / f"presses-{name.replace(' ', '_').replace('/', '')}.json").write_bytes(orjson.dumps(stamps))
    on_console = [(console.seen[d] - presses.pressed[d]) * 1000 for d in pressed if d in console.seen]
    raw = [(presses.echoed[d] - presses.pressed[d]) * 1000 for d in pressed if d in presses.echoed]
    acked = [(presses.acked[d] - presses.pressed[d]) * 1000 for d in pressed if d in presses.acked]
    return Phase(
        name, round(elapsed, 1), round(offered), round((handled1 - handled0) / elapsed),
        round((shed1 - shed0) / elapsed), round(lag, 2), len(pressed), len(on_console),
        _percentiles(on_console), _percentiles(acked), _percentiles(raw), hops(presses, console, pressed),
    )  # fmt: skip


async def bench(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    print("starting mosquitto, PostgreSQL database, 2 center workers, 2 gateway workers…", flush=True)
    broker = start_mosquitto(workdir=workdir / "mosquitto")
    result: dict[str, Any] = {"devices": args.devices, "machine": os.uname().nodename, "phases": []}
    procs: list[asyncio.subprocess.Process] = []
    try:
        reference = await asyncio.to_thread(reference_rate, broker.host, broker.port)
        result["raw_mosquitto_msg_s"] = round(reference)
        print(f"reference: Mosquitto client → client {reference:,.0f} msg/s (QoS 1)", flush=True)
        async with fresh_database(args.postgres_url) as db_url:
            cloud_port, metrics_port = free_port(), free_port()
            env = {
                **os.environ,
                "ANXIN_CLOUD_DATABASE_URL": db_url,
                "ANXIN_CLOUD_EDGE_TOKENS": orjson.dumps({EDGE_ID: EDGE_TOKEN}).decode(),
                "ANXIN_CLOUD_OPERATOR_PASSWORD": PASSWORD,
                "ANXIN_CLOUD_SESSION_SECRET": secrets.token_urlsafe(32),
                "ANXIN_EDGE_EDGE_ID": EDGE_ID,
                "ANXIN_EDGE_MQTT_URL": broker.url,
                "ANXIN_EDGE_CLOUD_URL": f"http://127.0.0.1:{cloud_port}",
                "ANXIN_EDGE_CLOUD_TOKEN": EDGE_TOKEN,
                "ANXIN_EDGE_DATA_DIR": str(workdir / "edge"),
                "ANXIN_EDGE_METRICS_PORT": str(metrics_port),
                "ANXIN_EDGE_ACCEPT_UNKNOWN_DEVICES": "true",
                "ANXIN_EDGE_BACKOFF_MAX_S": "2",
            }
            cloud_argv = ["cloud", "--port", str(cloud_port), "--workers", str(CLOUD_WORKERS)]
            procs.append(await _spawn(cloud_argv, env, workdir / "cloud.log"))
            await _healthy(f"http://127.0.0.1:{cloud_port}", procs[0], 180)
            procs.append(await _spawn(["edge", "--workers", str(GATEWAY_WORKERS)], env, workdir / "edge.log"))
            for i in range(GATEWAY_WORKERS):
                await asyncio.to_thread(wait_for_port, "127.0.0.1", metrics_port + i, 120.0)
            metrics = [f"http://127.0.0.1:{metrics_port + i}/metrics" for i in range(GATEWAY_WORKERS)]
            try:
                result["phases"] = await _phases(args, broker, env, workdir, metrics=metrics, port=cloud_port)
            finally:
                await _stop(procs)  # before the database is dropped
    finally:
        await _stop(procs)
        broker.stop()
    return result


async def _stop(procs: list[asyncio.subprocess.Process]) -> None:
    for proc in reversed(procs):
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 30)


async def _phases(
    args: argparse.Namespace,
    broker: Any,
    env: dict[str, str],
    workdir: Path,
    *,
    metrics: list[str],
    port: int,
) -> list[dict[str, Any]]:
    presses = await asyncio.to_thread(Presses, broker.host, broker.port)
    console = Console(f"http://127.0.0.1:{port}", PASSWORD)
    follower = asyncio.create_task(console.follow())
    phases: list[dict[str, Any]] = []
    try:
        await asyncio.wait_for(console.connected.wait(), 30)
        common: dict[str, Any] = {
            "presses": presses,
            "console": console,
            "metrics": metrics,
            "env": env,
            "workdir": workdir,
        }
        # the first presses after the processes start pay first-use costs (a worker's first intake
        # request, statement compilation): reported on their own, not as the idle floor
        first = await run_phase(
            "first presses", **common, sims=[], seconds=args.warmup_seconds, press_every=args.press_every
        )
        print(describe(first), flush=True)
        phases.append(asdict(first) | {"sustained": first.sustained, "warm_up": True})
        idle = await run_phase(
            "idle", **common, sims=[], seconds=args.idle_seconds, press_every=args.press_every
        )
        print(describe(idle), flush=True)
        phases.append(asdict(idle) | {"sustained": idle.sustained})
        for number, rate in enumerate(float(r) for r in args.rates.split(",")):
            sims = sim_commands(
                broker.url, args.devices, rate, args.step_seconds,
                processes=args.simulators, step=number, workdir=workdir,
            )  # fmt: skip
            step = await run_phase(
                f"offer {rate:,.0f}/s", **common, sims=sims, seconds=args.step_seconds,
                press_every=args.press_every,
            )  # fmt: skip
            print(describe(step), flush=True)
            bound = step.simulator_bound(rate)
            if bound:
                print(f"    the simulator published {step.offered_per_s:,.0f} of {rate:,.0f} msg/s asked")
            phases.append(asdict(step) | {"sustained": step.sustained, "simulator_bound": bound})
            if not step.sustained or bound:
                break
    finally:
        follower.cancel()
        with contextlib.suppress(BaseException):
            await follower
        await console.aclose()
        presses.close()
    phases.append({"name": "console duplicates", "count": console.duplicates})
    return phases


def summary(result: dict[str, Any]) -> dict[str, Any]:
    steps = [p for p in result["phases"] if str(p.get("name", "")).startswith("offer")]
    best = max((p for p in steps if p["sustained"]), key=lambda p: p["handled_per_s"], default=None)
    raw = result["raw_mosquitto_msg_s"]
    return {
        "highest_sustained_telemetry_msg_s": best["handled_per_s"] if best else 0,
        "limited_by_simulator": bool(steps and steps[-1].get("simulator_bound")),
        "ratio_to_raw_mosquitto": round(best["handled_per_s"] / raw, 3) if best and raw else None,
        "sos_press_to_console_ms_at_that_rate": best["console_ms"] if best else None,
        "raw_mosquitto_msg_s": raw,
    }


def _main(args: argparse.Namespace) -> int:
    if not args.postgres_url:
        print("anxin bench district needs --postgres-url (an admin URL; a database is made and dropped)")
        return 2
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(bench(args, args.workdir))
    else:
        with tempfile.TemporaryDirectory(prefix="anxin-bench-district-") as tmp:
            result = asyncio.run(bench(args, Path(tmp)))
    result["summary"] = summary(result)
    print(orjson.dumps(result["summary"], option=orjson.OPT_INDENT_2).decode())
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        print(f"written: {args.json}")
    return 0


def register(bench_sub: Any) -> None:
    parser: argparse.ArgumentParser = bench_sub.add_parser(
        "district",
        help="a district on this machine: SOS press → console event under 10,000 devices' telemetry",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--devices", type=int, default=10_000, help="simulated wearables (default 10000)")
    parser.add_argument(
        "--simulators", type=int, default=2, help="simulator processes sharing the devices (default 2)"
    )
    parser.add_argument("--rates", default="1000,2000,3000,4000,6000", help="offered telemetry msg/s")
    parser.add_argument("--step-seconds", type=float, default=20.0, help="seconds measured per step")
    parser.add_argument(
        "--warmup-seconds", type=float, default=2.0, help="seconds of first presses, reported on their own"
    )
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="seconds of presses with no fleet")
    parser.add_argument("--press-every", type=float, default=0.25, help="seconds between SOS presses")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("ANXIN_BENCH_POSTGRES_URL") or os.environ.get("ANXIN_TEST_POSTGRES_URL"),
        help="PostgreSQL admin URL, postgresql+asyncpg://user@host/db (env ANXIN_BENCH_POSTGRES_URL)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write every phase and the summary here")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep the logs (cloud.log, edge.log, sim-*.log) here"
    )
    parser.set_defaults(func=_main)
