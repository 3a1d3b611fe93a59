"""``anxin bench intake``: the cloud's intake beside a bare FastAPI endpoint, in the same run.

The bare endpoint validates nothing and does one ``INSERT`` + ``COMMIT`` per request (same driver stack:
SQLAlchemy Core over aiosqlite / asyncpg). Our intake stores each edge event exactly once (authority
checks, variant keys, fusion into incidents, guardian SMS queued), once per ``POST`` and in batches of
``--batch`` events (what a draining gateway sends). Each server runs in its own process with logs at
WARNING and no access log; its CPU time is read from ``/proc``. The load: ``--clients`` concurrent
clients, each posting the SOS events of its own demo devices in order.

Figures: events/s, server CPU per event, request latency p50/p99, and each rate as a ratio of the bare
endpoint's rate measured in the same run (SQLite, and PostgreSQL when ``--postgres URL`` is given).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from contracts.identity import event_key
from contracts.intake import INTAKE_BATCH_PATH, INTAKE_PATH, EventKind, Severity
from tools.intake_serve import BENCH_EDGE_ID, BENCH_EDGE_TOKEN

EDGE_ID, EDGE_TOKEN = BENCH_EDGE_ID, BENCH_EDGE_TOKEN  # the demo district's gateway
BARE_PATH = "/bare"
DEMO_DEVICES = tuple(f"card-{n:04d}" for n in range(1, 41)) + tuple(f"wear-{n:04d}" for n in range(1, 41))
READY_TIMEOUT_S = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Phase:
    name: str
    backend: str
    events: int
    seconds: float
    cpu_s: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def _event(device_id: str, seq: int, now_ms: int) -> dict[str, Any]:
    return {
        "v": 2,
        "key": event_key(device_id, seq),
        "edge_id": EDGE_ID,
        "device_id": device_id,
        "seq": seq,
        "kind": EventKind.SOS.value,
        "severity": Severity.P1.value,
        "device_ts": now_ms,
        "edge_ts": now_ms + 20,
        "evidence": {"trigger": "button"},
    }


@contextmanager
def _server(kind: str, url: str) -> Iterator[tuple[str, int]]:
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryFile() as log_file:  # never a pipe: a full pipe would stall the server
        proc = subprocess.Popen(  # our own module, fixed arguments
            [sys.executable, "-m", "tools.intake_serve", kind, url, str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
        try:
            yield _wait_ready(kind, proc, f"http://127.0.0.1:{port}", log_file), proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(kind: str, proc: subprocess.Popen[bytes], base: str, log_file: IO[bytes]) -> str:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            log_file.seek(0)
            raise RuntimeError(f"{kind} server exited: {log_file.read().decode()[-2000:]}")
        try:
            if httpx.get(base + "/healthz", timeout=1.0).status_code < 500:
                return base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{kind} server did not start in {READY_TIMEOUT_S:.0f} s")
        time.sleep(0.1)  # polling a child process's port, not a test


async def _load(base: str, path: str, *, clients: int, events: int, batch: int, seq0: int) -> list[float]:
    """``clients`` concurrent clients post ``events`` events in all; each client owns some devices."""
    latencies: list[float] = []
    per_client = max(1, events // clients)
    headers = {"Authorization": f"Bearer {EDGE_TOKEN}"}

    async def client(index: int) -> None:
        devices = DEMO_DEVICES[index::clients] or DEMO_DEVICES[index % len(DEMO_DEVICES) :][:1]
        now_ms = int(time.time() * 1000)
        bodies = [
            _event(devices[n % len(devices)], seq0 + n // len(devices), now_ms + n) for n in range(per_client)
        ]
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60.0) as http:
            for start in range(0, len(bodies), batch):
                chunk = bodies[start : start + batch]
                t0 = time.perf_counter()
                if path == INTAKE_BATCH_PATH:
                    response = await http.post(path, json={"events": chunk})
                else:
                    response = await http.post(path, json=chunk[0])
                latencies.append((time.perf_counter() - t0) * 1000)
                if response.status_code >= 300:
                    raise RuntimeError(f"{path}: HTTP {response.status_code}: {response.text[:300]}")

    await asyncio.gather(*(client(i) for i in range(clients)))
    return latencies


def _phase(name: str, backend: str, kind: str, url: str, path: str, *, args: argparse.Namespace) -> Phase:
    batch = args.batch if path == INTAKE_BATCH_PATH else 1
    seq0 = int(time.time()) % 1_000_000 * 1000  # fresh keys even on a reused PostgreSQL database
    with _server(kind, url) as (base, pid):
        asyncio.run(_load(base, path, clients=args.clients, events=args.warmup, batch=batch, seq0=seq0))
        cpu0, t0 = _cpu_seconds(pid), time.perf_counter()
        latencies = asyncio.run(
            _load(base, path, clients=args.clients, events=args.events, batch=batch, seq0=seq0 + args.warmup)
        )
        seconds, cpu = time.perf_counter() - t0, _cpu_seconds(pid) - cpu0
    events = (args.events // args.clients) * args.clients
    return Phase(name, backend, events, seconds, cpu, latencies)


def _backends(args: argparse.Namespace, tmp: Path) -> list[tuple[str, str, str]]:
    """(backend, bare URL, cloud URL): fresh SQLite files; the given PostgreSQL database for both."""
    found = [("SQLite", f"sqlite+aiosqlite:///{tmp / 'bare.db'}", f"sqlite+aiosqlite:///{tmp / 'cloud.db'}")]
    if args.postgres:
        found.append(("PostgreSQL", args.postgres, args.postgres))
    return found


def run(args: argparse.Namespace) -> list[Phase]:
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="anxin-bench-intake-") as tmp:
        for backend, bare_url, cloud_url in _backends(args, Path(tmp)):
            phases.append(_phase("bare insert+commit", backend, "bare", bare_url, BARE_PATH, args=args))
            phases.append(_phase("intake, 1 event/POST", backend, "cloud", cloud_url, INTAKE_PATH, args=args))
            name = f"intake, batch of {args.batch}"
            phases.append(_phase(name, backend, "cloud", cloud_url, INTAKE_BATCH_PATH, args=args))
    return phases


def report(phases: list[Phase], args: argparse.Namespace) -> str:
    lines = [
        f"intake bench: {args.clients} clients, {args.events} events per phase "
        f"(after {args.warmup} warm-up); "
        "load average at start " + " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "",
        "| backend | endpoint | events/s | CPU per event | request p50 | request p99 | × bare |",
        "|---|---|---|---|---|---|---|",
    ]
    bare: dict[str, float] = {}
    for phase in phases:
        if phase.name.startswith("bare"):
            bare[phase.backend] = phase.rate
        ratio = phase.rate / bare[phase.backend] if bare.get(phase.backend) else float("nan")
        lines.append(
            f"| {phase.backend} | {phase.name} | {phase.rate:,.0f} | "
            f"{phase.cpu_s / max(1, phase.events) * 1e3:.2f} ms | {phase.pct(0.5):.1f} ms | "
            f"{phase.pct(0.99):.1f} ms | {ratio:.2f} |"
        )
    return "\n".join(lines)


def _main(args: argparse.Namespace) -> int:
    load = os.getloadavg()[0]
    phases = run(args)
    print(report(phases, args))
    print(
        f"\nmean per-request latency of all phases {statistics.fmean(p.pct(0.5) for p in phases):.1f} ms; "
        f"load average {load:.1f} → {os.getloadavg()[0]:.1f}"
    )
    return 0


def register(bench_sub: Any) -> None:
    parser: argparse.ArgumentParser = bench_sub.add_parser(
        "intake",
        help="cloud intake events/s beside a bare FastAPI insert+commit endpoint (SQLite, PostgreSQL)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--events", type=int, default=2000, help="events per measured phase (default 2000)")
    parser.add_argument(
        "--warmup", type=int, default=200, help="events posted before measuring (default 200)"
    )
    parser.add_argument("--batch", type=int, default=32, help="events per batch POST (default 32)")
    parser.add_argument(
        "--postgres", default=None, metavar="URL", help="also run on PostgreSQL: postgresql+asyncpg://..."
    )
    parser.set_defaults(func=_main)
