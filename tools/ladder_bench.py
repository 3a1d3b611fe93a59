"""``anxin bench gateway --ladder``: the gateway's sustained rate under a rising offered load.

1,000 device connections (``--connections``; raw MQTT 3.1.1 sockets on one selector loop in this
process, :mod:`tools.ladder_load`) publish uplinks at QoS 1 at each rate of ``--rates`` for
``--step-seconds``: ``--kind vitals`` (vitals readings), ``accel`` (the simulator wearables' 1 s
acceleration batches at 50 Hz, as the simulator encodes them) or ``both`` (one ladder after the
other). The gateway runs as ``anxin edge --workers N`` (each N of ``--workers``) in its own process
tree, with no cloud (events stay in the outbox) but a stand-in registry endpoint that names the fleet's
devices (wearables), so each worker subscribes to its own devices by name as in production
(``--no-registry``: the gateway accepts unregistered devices and every worker takes the site-wide
filters, the commissioning path). Per step: the offered rate actually achieved, the rate the gateway
accepted (its ``/metrics``), what it shed, the CPU of its worker processes (``/proc``) and the
machine's load average. The reference, measured in the same run on the same broker with the same kind
of payload: Mosquitto's client→client QoS 1 rate (one paho publisher with 500 in flight → one paho
subscriber). ``--plot`` writes a PNG (matplotlib, imported only then), one panel per kind.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson

from broker.runner import free_port, port_is_free, start_mosquitto
from contracts import DeviceKind, uplink_filter, uplink_topic
from edge.delivery.cloud_client import REGISTRY_PATH
from tools.ladder_load import KINDS, Fleet, Payloads, device_name

CLK_TCK = os.sysconf("SC_CLK_TCK")
REFERENCE_MESSAGES = {"vitals": 30_000, "accel": 15_000}
_SAMPLE = re.compile(
    r"^anxin_edge_(accepted_total|shed_total|partition_skipped_total|subscribed_devices)"
    r"(\{[^}]*\})? ([0-9.e+]+)$",
    re.MULTILINE,
)
EDGE_ID = "edge-ladder"


@dataclass
class Step:
    workers: int
    target: float
    kind: str = "vitals"
    offered: float = 0.0
    accepted: float = 0.0
    shed: float = 0.0
    skipped: float = 0.0  # uplinks a worker received for another worker's device, msg/s
    cpu_cores: float = 0.0
    load: float = 0.0  # the machine's 1-minute load average at the end of the step

    @property
    def cpu_us_per_msg(self) -> float:
        return self.cpu_cores / self.accepted * 1e6 if self.accepted else float("nan")


def reference_rate(host: str, port: int, kind: str = "vitals", *, count: int | None = None) -> float:
    """Mosquitto client→client at QoS 1 with ``kind`` payloads: one publisher (500 in flight) → one live
    subscriber, msg/s."""
    from tools.gateway_bench import _client, _publish_all

    total = count or REFERENCE_MESSAGES[kind]
    payloads = Payloads(kind, min(total, 1000), seed=99)
    messages = [
        (uplink_topic(device_name(i % 1000), kind), payloads.payload(i % 1000, i // 1000 + 1))
        for i in range(total)
    ]
    done, subscribed = threading.Event(), threading.Event()
    got = 0
    first = 0.0

    def on_message(*_a: Any) -> None:
        nonlocal got, first
        if got == 0:
            first = time.perf_counter()
        got += 1
        if got >= len(messages):
            done.set()

    sub = _client("ladder-reference-sub", host, port)
    sub.on_message = on_message
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.loop_start()
    try:
        sub.subscribe(uplink_filter(), qos=1)
        if not subscribed.wait(10):
            raise RuntimeError("reference subscriber not subscribed")
        _publish_all(host, port, messages)
        if not done.wait(120):
            raise RuntimeError(f"reference subscriber got {got} of {len(messages)}")
        return (len(messages) - 1) / (time.perf_counter() - first)
    finally:
        sub.loop_stop()
        sub.disconnect()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(p) for p in text)
    return found


def _cpu_s(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def _counts(ports: list[int], kind: str | None = None) -> dict[str, float]:
    """Accepted (of ``kind`` only, when given), shed and partition-skipped uplinks so far, and devices
    subscribed by name: summed over the workers."""
    totals = dict.fromkeys(
        ("accepted_total", "shed_total", "partition_skipped_total", "subscribed_devices"), 0.0
    )
    for port in ports:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        for name, labels, value in _SAMPLE.findall(text):
            if name == "accepted_total" and kind is not None and f'type="{kind}"' not in labels:
                continue
            totals[name] += float(value)
    return totals


@contextlib.contextmanager
def registry_endpoint(device_ids: list[str]) -> Iterator[str]:
    """A stand-in center that answers only the registry snapshot (everything else: 503); its URL."""
    body = orjson.dumps(
        [
            {"device_id": d, "kind": DeviceKind.WEARABLE.value, "subject_id": f"p-{i}"}
            for i, d in enumerate(device_ids)
        ]
    )
    prefix, suffix = REGISTRY_PATH.split("{edge_id}")  # for every climb's gateway (each its own edge id)

    class Registry(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            found = self.path.startswith(prefix) and self.path.endswith(suffix) and self.command == "GET"
            self.send_response(200 if found else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) if found else 2))
            self.end_headers()
            self.wfile.write(body if found else b"{}")

        do_GET = do_POST = _answer

        def log_message(self, *_a: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, *_a: Any) -> None:
            pass  # a gateway that gave up waiting (it retries)

    server = Server(("127.0.0.1", 0), Registry)
    thread = threading.Thread(target=server.serve_forever, name="ladder-registry", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _start_gateway(
    url: str, workers: int, data_dir: Path, metrics_port: int, cloud_url: str | None, *, edge_id: str
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ANXIN_EDGE_CLOUD_TOKEN": "ladder-bench-token-0123456789"}
    argv = [
        sys.executable, "-m", "anxin", "--log-level", "WARNING", "edge", "--workers", str(workers),
        "--edge-id", edge_id, "--mqtt-url", url,
        "--cloud-url", cloud_url or f"http://127.0.0.1:{free_port()}",
        "--data-dir", str(data_dir), "--metrics-port", str(metrics_port),
        "--http-timeout-s", "1" if cloud_url is None else "10",
    ]  # fmt: skip
    if cloud_url is None:
        argv.append("--accept-unknown-devices")
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)  # our own CLI, fixed arguments


def _wait_ready(ports: list[int], proc: subprocess.Popen[bytes], *, by_name: int) -> None:
    """Until every worker's /metrics answers and ``by_name`` devices are subscribed by name."""
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the gateway ended (exit {proc.returncode})")
        try:
            if _counts(ports)["subscribed_devices"] >= by_name:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the gateway was not ready (metrics, subscriptions) within 90 s")
        time.sleep(0.2)  # polling a child process's port


def kinds_of(kind: str) -> list[str]:
    return list(KINDS) if kind == "both" else [kind]


def ladder(args: argparse.Namespace) -> tuple[dict[str, float], list[Step]]:
    """The reference rate per kind and every step climbed (per kind, then per worker count)."""
    steps: list[Step] = []
    references: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="anxin-bench-ladder-") as tmp:
        broker = start_mosquitto(workdir=Path(tmp) / "broker", persistence=False)
        try:
            for kind in kinds_of(args.kind):
                references[kind] = reference_rate(
                    broker.host, broker.port, kind, count=args.reference_messages
                )
            fleet = Fleet(broker.host, broker.port, args.connections)
            devices = [device_name(i) for i in range(args.connections)]
            try:
                with registry_endpoint(devices) as registry_url:
                    cloud_url = registry_url if args.registry else None
                    for kind in kinds_of(args.kind):
                        payloads = Payloads(kind, args.connections)
                        given = args.accel_rates if kind == "accel" and args.accel_rates else args.rates
                        rates = [float(r) for r in given.split(",")]
                        for workers in (int(w) for w in args.workers.split(",")):
                            data = Path(tmp) / f"{kind}-w{workers}"
                            climbed = _climb(
                                broker.url, workers, rates, fleet, payloads,
                                data=data, cloud_url=cloud_url, args=args,
                            )  # fmt: skip
                            steps.extend(climbed)
            finally:
                fleet.close()
        finally:
            broker.stop()
    return references, steps


def _climb(
    url: str,
    workers: int,
    rates: list[float],
    fleet: Fleet,
    payloads: Payloads,
    *,
    data: Path,
    cloud_url: str | None,
    args: argparse.Namespace,
) -> list[Step]:
    port = free_port()
    while not all(port_is_free(port + i) for i in range(workers)):  # worker i serves port + i
        port = free_port()
    ports = [port + i for i in range(workers)]
    # each climb its own edge id, so its own MQTT sessions: what the broker queued for an earlier
    # climb's (persistent) session never reaches this one
    edge_id = f"{EDGE_ID}-{payloads.kind}-w{workers}"
    proc = _start_gateway(url, workers, data, port, cloud_url, edge_id=edge_id)
    steps: list[Step] = []
    try:
        _wait_ready(ports, proc, by_name=fleet.count if cloud_url is not None and workers > 1 else 0)
        pids = _children(proc.pid) or [proc.pid]  # the workers, or the one gateway process
        fleet.offer(payloads, min(rates), 2.0)  # warm-up: every device known to its worker
        for rate in rates:
            step = Step(workers=workers, target=rate, kind=payloads.kind)
            before = _counts(ports, payloads.kind)
            cpu0, t0 = _cpu_s(pids), time.perf_counter()
            step.offered = fleet.offer(payloads, rate, args.step_seconds)
            seconds = time.perf_counter() - t0
            after = _counts(ports, payloads.kind)
            step.accepted = (after["accepted_total"] - before["accepted_total"]) / seconds
            step.shed = (after["shed_total"] - before["shed_total"]) / seconds
            step.skipped = (after["partition_skipped_total"] - before["partition_skipped_total"]) / seconds
            step.cpu_cores = (_cpu_s(pids) - cpu0) / seconds
            step.load = os.getloadavg()[0]
            steps.append(step)
            print(
                f"  {payloads.kind} workers={workers} offered {step.offered:7,.0f} msg/s "
                f"→ accepted {step.accepted:7,.0f}, "
                f"shed {step.shed:6,.0f}, skipped {step.skipped:6,.0f}, "
                f"gateway CPU {step.cpu_cores:.2f} cores, load {step.load:.1f}",
                file=sys.stderr,
                flush=True,
            )
            fleet.offer(payloads, 0.0, 2.0)  # let a backlog of this step drain before the next
    finally:
        proc.terminate()
        proc.wait(30)
    return steps


def sustained(steps: list[Step], workers: int, kind: str = "vitals") -> float:
    """The highest accepted rate of a step that kept up (≥ 95 % of what was offered, nothing shed)."""
    kept = [
        s.accepted
        for s in steps
        if s.workers == workers and s.kind == kind and s.accepted >= 0.95 * s.offered and s.shed == 0
    ]
    return max(kept, default=0.0)


LABEL = {"vitals": "vitals uplinks", "accel": "acceleration batches (50 Hz × 1 s)"}


def plot(references: dict[str, float], steps: list[Step], path: Path, *, connections: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [k for k in KINDS if k in references]
    fig, axes = plt.subplots(1, len(kinds), figsize=(7 * len(kinds), 4.2), dpi=110, squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        reference = references[kind]
        mine = [s for s in steps if s.kind == kind]
        for workers in sorted({s.workers for s in mine}):
            line = [s for s in mine if s.workers == workers]
            ax.plot(
                [s.offered for s in line],
                [s.accepted for s in line],
                marker="o",
                label=f"gateway, {workers} worker(s)",
            )
        top = max([s.offered for s in mine] + [reference])
        ax.plot([0, top], [0, top], linestyle=":", color="grey", label="accepted = offered")
        ax.axhline(
            reference,
            linestyle="--",
            color="black",
            label=f"Mosquitto client→client QoS 1 ({reference:,.0f}/s)",
        )
        ax.set_xlabel(f"offered {LABEL[kind]}, msg/s (QoS 1, {connections:,} connections)")
        ax.set_ylabel("accepted by the gateway, msg/s")
        ax.set_title(f"Gateway sustained load, {kind} (same-run broker reference)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def report(args: argparse.Namespace, load: float, references: dict[str, float], steps: list[Step]) -> str:
    """The run as Markdown: the setting, the reference per kind, a row per step, the sustained rates."""
    setting = "registry snapshot (per-device subscriptions)" if args.registry else "no registry (site-wide)"
    lines = [
        f"gateway ladder: {args.connections} device connections, QoS 1, {setting}, "
        f"{args.step_seconds:.0f} s per step; load average at start {load:.1f}",
        *(
            f"reference ({kind}): Mosquitto client→client QoS 1 {ref:,.0f} msg/s (same run)"
            for kind, ref in references.items()
        ),
        "",
        "| kind | workers | offered msg/s | accepted msg/s | shed msg/s | skipped msg/s "
        "| gateway CPU (cores) | CPU µs/msg | × reference | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in steps:
        lines.append(
            f"| {s.kind} | {s.workers} | {s.offered:,.0f} | {s.accepted:,.0f} | {s.shed:,.0f} "
            f"| {s.skipped:,.0f} | {s.cpu_cores:.2f} | {s.cpu_us_per_msg:.0f} "
            f"| {s.accepted / references[s.kind]:.2f} | {s.load:.1f} |"
        )
    lines.append("")
    for kind, ref in references.items():
        for workers in sorted({s.workers for s in steps if s.kind == kind}):
            best = sustained(steps, workers, kind)
            lines.append(
                f"sustained, {kind}, {workers} worker(s): {best:,.0f} msg/s = {best / ref:.2f} × reference"
            )
    return "\n".join(lines)


def main_ladder(args: argparse.Namespace) -> int:
    load = os.getloadavg()[0]
    references, steps = ladder(args)
    print(report(args, load, references, steps))
    if args.plot:
        plot(references, steps, Path(args.plot), connections=args.connections)
        print(f"plot: {args.plot}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ladder", action="store_true", help="sustained offered-load ladder instead of the drain"
    )
    parser.add_argument(
        "--connections", type=int, default=1_000, help="ladder: device connections (default 1000)"
    )
    parser.add_argument(
        "--rates", default="500,1000,2000,3000,4000", help="ladder: offered msg/s, comma-separated"
    )
    parser.add_argument("--step-seconds", type=float, default=10.0, help="ladder: seconds per step")
    parser.add_argument("--workers", default="1,2", help="ladder: gateway worker counts to climb with")
    parser.add_argument(
        "--kind",
        choices=(*KINDS, "both"),
        default="vitals",
        help="ladder: what the devices send: vitals, accel (1 s batches at 50 Hz, as the simulator's "
        "wearables), or both (one ladder after the other)",
    )
    parser.add_argument(
        "--accel-rates",
        default=None,
        help="ladder: offered msg/s for acceleration batches (default: --rates; a batch is ~2.5 kB)",
    )
    parser.add_argument(
        "--reference-messages",
        type=int,
        default=None,
        help="ladder: messages in the broker reference (default 30,000 vitals / 15,000 accel)",
    )
    parser.add_argument(
        "--registry",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="ladder: serve a registry snapshot naming the fleet (workers subscribe by device); "
        "--no-registry: accept unregistered devices (site-wide filters)",
    )
    parser.add_argument("--plot", default=None, metavar="PNG", help="ladder: write a plot (needs matplotlib)")
