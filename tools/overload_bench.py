"""``anxin bench overload``: SOS latency while the simulator offers twice what the gateway sustains.

Separate processes, as deployed: ``mosquitto`` (the project's config), the gateway (``anxin edge``),
the simulator (``anxin sim``, fall/SOS wearables sending 1 s acceleration batches, vitals and status),
and this process: a cloud stand-in on real HTTP that notes when each event arrives, and a probe card that
presses SOS every ``--probe-every`` seconds and waits for ``alarm_received``.

1. **Idle**: probe presses with no other traffic (the floor).
2. **Capacity**: the simulator offers rising rates (``--rates``); the gateway sustains a rate when it
   sheds nothing and its ingest lag stays under 1 s. What it handled per second at the highest such
   rate is its capacity here.
3. **Overload**: the simulator offers ``--factor`` × capacity; probe presses go on throughout.

For each phase: telemetry offered (the simulator's publishes), handled and shed by the gateway
(from its ``/metrics``), and per press: press → ``alarm_received`` at the card, press → cloud intake, and
the raw-broker reference press → a bare subscriber of the same topic (what no gateway can beat).
``--plot`` writes a PNG of the latency distributions per phase (matplotlib, imported only then).
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
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import uvicorn
from fastapi import FastAPI, Request, Response
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client.parser import text_string_to_metric_families

from broker.runner import free_port, start_mosquitto, wait_for_port
from contracts import SosPress, downlink_filter, encode, uplink_topic

_TIMED = ("anxin_edge_alarm_ack_seconds", "anxin_edge_outbox_write_seconds")
GATEWAY_TIMES: dict[str, float] = {}  # the gateway's alarm histograms (sum, count), latest scrape
PROBES = [f"card-probe-{i:02d}" for i in range(20)]  # presses go round them: each presses every 20th time
MSG_PER_WEARABLE_S = 1.02  # accel batch every second + vitals every minute + status every 5 min


@dataclass
class Probe:
    """SOS cards on one real MQTT connection: press in turn (one global seq), note press,
    ``alarm_received`` and the raw broker echo (a bare subscriber of the same topics)."""

    host: str
    port: int
    pressed: dict[int, float] = field(default_factory=dict)
    acked: dict[int, float] = field(default_factory=dict)
    echoed: dict[int, float] = field(default_factory=dict)
    seq: int = 0

    def __post_init__(self) -> None:
        self._card = self._client("probe-cards", self._on_ack, [downlink_filter(d) for d in PROBES])
        self._raw = self._client("probe-raw", self._on_echo, [uplink_topic(d, "sos") for d in PROBES])

    def _client(self, client_id: str, on_message: Any, topics: list[str]) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        client.on_socket_open = _nodelay
        subscribed = threading.Event()
        client.on_subscribe = lambda *_a: subscribed.set()
        client.on_message = on_message
        client.connect(self.host, self.port, keepalive=30)
        client.loop_start()
        client.subscribe([(t, 1) for t in topics])
        if not subscribed.wait(10):
            raise RuntimeError(f"{client_id}: not subscribed")
        return client

    def _on_ack(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        ref = orjson.loads(message.payload).get("ref_seq")
        if message.topic.endswith("/alarm") and isinstance(ref, int) and ref not in self.acked:
            self.acked[ref] = time.perf_counter()

    def _on_echo(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        seq = orjson.loads(message.payload).get("seq")
        if isinstance(seq, int) and seq not in self.echoed:
            self.echoed[seq] = time.perf_counter()

    def press(self) -> int:
        self.seq += 1
        device = PROBES[self.seq % len(PROBES)]
        payload = encode(SosPress(device_id=device, seq=self.seq, ts=int(time.time() * 1000)))
        self.pressed[self.seq] = time.perf_counter()
        self._card.publish(uplink_topic(device, "sos"), payload, qos=1)
        return self.seq

    def answered(self, seqs: range, cloud: IntakeStandIn) -> bool:
        return all(s in self.acked and cloud.at_cloud(s) is not None for s in seqs)

    def close(self) -> None:
        for client in (self._card, self._raw):
            client.loop_stop()
            client.disconnect()


def _nodelay(_c: mqtt.Client, _u: Any, sock: Any) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class IntakeStandIn:
    """The district center as far as the gateway needs it: intake (201, noting arrival), nothing else."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}  # probe seq -> arrival
        self.app = FastAPI()

        @self.app.post("/api/v1/intake/events")
        async def intake(request: Request) -> Response:
            body = orjson.loads(await request.body())
            if body.get("device_id") in PROBES and body.get("kind") == "sos":
                self.arrived.setdefault(int(body["seq"]), time.perf_counter())
            ack = {"key": body["key"], "incident_id": f"inc-{body['key']}", "duplicate": False}
            return Response(orjson.dumps(ack), status_code=201, media_type="application/json")

    def at_cloud(self, seq: int) -> float | None:
        return self.arrived.get(seq)


@dataclass
class Phase:
    name: str
    seconds: float
    offered: float  # telemetry the simulator published (its mean rate × the phase's seconds)
    handled: float  # telemetry the gateway handled
    shed: float
    ack_ms: list[float]
    cloud_ms: list[float]
    raw_ms: list[float]
    presses: int
    unanswered: int
    lag_s: float  # the gateway's ingest lag at the end of the presses
    handling_ms: float  # mean, inside the gateway: alarm taken off its connection → alarm_received out
    commit_ms: float  # mean outbox commit (fsync) during the phase
    events: float  # outbox events written during the phase (alarms and detector findings)
    handling_p99_ms: float  # upper bound of the histogram bucket holding the p99 of ``handling_ms``

    @property
    def sustained(self) -> bool:
        return not self.shed and self.lag_s < 1.0

    def rate(self, count: float) -> float:
        return count / self.seconds if self.seconds else 0.0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def gateway_counts(client: httpx.AsyncClient, url: str) -> tuple[float, float]:
    """(telemetry handled, telemetry shed) from the gateway's /metrics."""
    handled, shed, _ = await gateway_state(client, url)
    return handled, shed


async def gateway_state(client: httpx.AsyncClient, url: str) -> tuple[float, float, float]:
    """(telemetry handled, telemetry shed, ingest lag in seconds) from the gateway's /metrics."""
    text = (await client.get(url)).text
    handled = shed = lag = events = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith(_TIMED) and sample.name.endswith(("_sum", "_count")):
                GATEWAY_TIMES[sample.name] = sample.value
            elif sample.name == "anxin_edge_alarm_ack_seconds_bucket":
                GATEWAY_TIMES[f"le:{sample.labels['le']}"] = sample.value
            if sample.name == "anxin_edge_events_total":
                events += sample.value
            if sample.name == "anxin_edge_accepted_total" and sample.labels["type"] not in ("sos", "fall"):
                handled += sample.value
            elif sample.name == "anxin_edge_shed_total":
                shed += sample.value
            elif sample.name == "anxin_edge_ingest_lag_seconds":
                lag = sample.value
    GATEWAY_TIMES["events"] = events  # outbox events of every kind (alarms and detector findings)
    return handled, shed, lag


async def run_phase(
    name: str,
    *,
    probe: Probe,
    cloud: IntakeStandIn,
    metrics: str,
    sim: list[str] | None,
    seconds: float,
    probe_every: float,
) -> Phase:
    """Start the simulator (if any), wait until its traffic reaches the gateway, then press SOS every
    ``probe_every`` s for ``seconds`` while counting what the gateway handles and sheds."""
    async with httpx.AsyncClient(timeout=10) as http:
        sim_proc = None
        if sim is not None:
            sim_proc = await asyncio.create_subprocess_exec(
                *sim, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
            )
            start = await gateway_counts(http, metrics)
            async with asyncio.timeout(120):  # the fleet connects first
                while await gateway_counts(http, metrics) == start:  # noqa: ASYNC110 (another process)
                    await asyncio.sleep(0.2)
        handled0, shed0 = await gateway_counts(http, metrics)
        times0 = dict(GATEWAY_TIMES)
        began = time.perf_counter()
        first = probe.seq + 1
        while time.perf_counter() - began < seconds and (sim_proc is None or sim_proc.returncode is None):
            probe.press()
            await asyncio.sleep(probe_every)  # pacing the presses (a load generator, not a wait)
        handled1, shed1, lag = await gateway_state(http, metrics)
        elapsed = time.perf_counter() - began
        inside = {k: GATEWAY_TIMES.get(k, 0.0) - times0.get(k, 0.0) for k in GATEWAY_TIMES}
        offered = 0.0
        if sim_proc is not None:
            out, _ = await sim_proc.communicate()
            summary = orjson.loads(out.strip().splitlines()[-1])
            offered = float(summary["msg_per_s"]) * elapsed
        deadline = time.perf_counter() + 15  # let the last presses come back
        seqs = range(first, probe.seq + 1)
        while time.perf_counter() < deadline and not probe.answered(seqs, cloud):  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # the answers arrive on paho threads and uvicorn: poll them
    ack = [(probe.acked[s] - probe.pressed[s]) * 1000 for s in seqs if s in probe.acked]
    at_cloud = [(t - probe.pressed[s]) * 1000 for s in seqs if (t := cloud.at_cloud(s)) is not None]
    raw = [(probe.echoed[s] - probe.pressed[s]) * 1000 for s in seqs if s in probe.echoed]
    return Phase(
        name, elapsed, offered, handled1 - handled0, shed1 - shed0, ack, at_cloud, raw, len(seqs),
        sum(s not in probe.acked for s in seqs), lag,
        _mean_ms(inside, "anxin_edge_alarm_ack_seconds"), _mean_ms(inside, "anxin_edge_outbox_write_seconds"),
        inside.get("events", 0.0), _p99_bound_ms(inside),
    )  # fmt: skip


def _p99_bound_ms(deltas: dict[str, float]) -> float:
    """Upper bound of the histogram bucket holding the 99th percentile of the gateway's alarm handling."""
    buckets = sorted((float(k[3:]), v) for k, v in deltas.items() if k.startswith("le:"))
    total = buckets[-1][1] if buckets else 0.0
    for bound, cumulative in buckets:
        if total and cumulative >= 0.99 * total:
            return bound * 1000
    return float("nan")


def _mean_ms(deltas: dict[str, float], name: str) -> float:
    count = deltas.get(f"{name}_count", 0.0)
    return 1000 * deltas.get(f"{name}_sum", 0.0) / count if count else float("nan")


def sim_command(url: str, wearables: int, rate: float, seconds: float) -> list[str]:
    """``anxin sim`` offering about ``rate`` msg/s for ``seconds`` (plus a little: the presses stop first)."""
    speed = rate / (wearables * MSG_PER_WEARABLE_S)
    seconds += 3
    return [
        sys.executable, "-m", "anxin", "sim", "--mqtt-url", url, "--devices", str(wearables),
        "--mix", "wearable=1", "--speed", f"{speed:.3f}", "--duration", f"{seconds * speed:.0f}s",
        "--accel-mode", "full", "--no-progress", "--seed", "3",
    ]  # fmt: skip


def _percentiles(values: list[float]) -> str:
    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    return f"p50 {p50:6.1f}  p99 {p99:7.1f}  max {max(values or [0]):7.1f}"


def describe(phase: Phase) -> str:
    rates = (
        f"offered {phase.rate(phase.offered):7,.0f}/s  handled {phase.rate(phase.handled):7,.0f}/s  "
        f"shed {phase.rate(phase.shed):7,.0f}/s"
    )
    return (
        f"{phase.name:<22} {rates}  lag {phase.lag_s:.1f} s  presses {phase.presses} "
        f"(unanswered {phase.unanswered})\n"
        f"    press → alarm_received ms  {_percentiles(phase.ack_ms)}\n"
        f"    press → cloud intake ms    {_percentiles(phase.cloud_ms)}\n"
        f"    press → raw subscriber ms  {_percentiles(phase.raw_ms)}   (broker reference)\n"
        f"    inside the gateway: alarm handled in {phase.handling_ms:.1f} ms mean "
        f"(p99 ≤ {phase.handling_p99_ms:.0f} ms), outbox commits "
        f"{phase.commit_ms:.1f} ms mean, {phase.events:.0f} outbox events"
    )


async def bench(args: argparse.Namespace, workdir: Path) -> list[Phase]:
    broker = start_mosquitto(workdir=workdir / "mosquitto")
    cloud = IntakeStandIn()
    cloud_port, metrics_port = free_port(), free_port()
    server = uvicorn.Server(uvicorn.Config(cloud.app, port=cloud_port, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    env = {
        **os.environ,
        "ANXIN_EDGE_EDGE_ID": "edge-bench",
        "ANXIN_EDGE_MQTT_URL": broker.url,
        "ANXIN_EDGE_CLOUD_URL": f"http://127.0.0.1:{cloud_port}",
        "ANXIN_EDGE_CLOUD_TOKEN": "bench-token-0123456789",
        "ANXIN_EDGE_DATA_DIR": str(workdir / "edge"),
        "ANXIN_EDGE_METRICS_PORT": str(metrics_port),
        "ANXIN_EDGE_ACCEPT_UNKNOWN_DEVICES": "true",
        "ANXIN_EDGE_BACKOFF_MAX_S": "2",
    }
    log_path = workdir / "gateway.log"
    with log_path.open("wb") as gateway_log:
        gateway = await asyncio.create_subprocess_exec(  # our own CLI
            sys.executable, "-m", "anxin", "edge", env=env, stdout=subprocess.DEVNULL, stderr=gateway_log
        )
    probe: Probe | None = None
    phases: list[Phase] = []
    try:
        await asyncio.to_thread(wait_for_port, "127.0.0.1", metrics_port, 30.0)
        probe = await asyncio.to_thread(Probe, broker.host, broker.port)
        metrics = f"http://127.0.0.1:{metrics_port}/metrics"
        common: dict[str, Any] = {"probe": probe, "cloud": cloud, "metrics": metrics}
        idle = await run_phase("idle", **common, sim=None, seconds=5, probe_every=args.probe_every)
        phases.append(idle)
        print(describe(idle), flush=True)
        capacity = float(args.capacity or 0)
        for rate in () if capacity else (float(r) for r in args.rates.split(",")):
            sim = sim_command(broker.url, args.wearables, rate, args.step_seconds)
            step = await run_phase(
                f"offer {rate:,.0f}/s", **common, sim=sim, seconds=args.step_seconds, probe_every=1.0
            )
            phases.append(step)
            print(describe(step), flush=True)
            if not step.sustained:
                break
            capacity = step.rate(step.handled)
        if capacity == 0:
            raise RuntimeError("the gateway sustained none of the offered rates; lower --rates")
        target = args.factor * capacity
        sim = sim_command(broker.url, args.wearables, target, args.seconds)
        over = await run_phase(
            f"overload {args.factor:g}× {capacity:,.0f}", **common, sim=sim, seconds=args.seconds,
            probe_every=args.probe_every,
        )  # fmt: skip
        phases.append(over)
        print(describe(over), flush=True)
    finally:
        if probe is not None:
            probe.close()
        if gateway.returncode is None:
            gateway.terminate()
            await asyncio.wait_for(gateway.wait(), 15)
        else:
            print(f"the gateway exited with {gateway.returncode}:", file=sys.stderr)
            print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
        server.should_exit = True
        await serving
        broker.stop()
    return phases


def plot(phases: list[Phase], path: Path) -> None:
    """Press → ``alarm_received`` and press → cloud, as cumulative distributions, one line per phase,
    beside the raw broker's press → subscriber of the idle phase."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), dpi=110, sharey=True)
    for ax, attr, title in (
        (axes[0], "ack_ms", "press → alarm_received at the device"),
        (axes[1], "cloud_ms", "press → event at the center's intake"),
    ):
        for phase in phases:
            values = sorted(getattr(phase, attr))
            if values:
                share = [(i + 1) / len(values) for i in range(len(values))]
                ax.step(values, share, where="post", label=f"{phase.name} (n={len(values)})")
        raw = sorted(phases[0].raw_ms) if phases else []
        if raw:
            share = [(i + 1) / len(raw) for i in range(len(raw))]
            ax.step(raw, share, where="post", linestyle=":", color="black", label="raw broker (idle)")
        ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("ms (log scale)")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("share of presses")
    fig.suptitle("SOS latency under overload (same-run broker reference)", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def _main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="anxin-bench-overload-") as tmp:
        phases = asyncio.run(bench(args, Path(tmp)))
    if args.plot is not None:
        plot(phases, args.plot)
        print(f"plot written to {args.plot}")
    over = phases[-1]
    ack99, cloud99 = percentile(over.ack_ms, 0.99), percentile(over.cloud_ms, 0.99)
    raw50 = statistics.median(over.raw_ms or [float("nan")])
    print(
        f"overload: press → alarm_received p99 {ack99:.0f} ms (target ≤ 250), press → cloud p99 "
        f"{cloud99:.0f} ms (target ≤ 1000); {over.unanswered} of {over.presses} presses unanswered; "
        f"raw broker median {raw50:.1f} ms"
    )
    return 0


def register(bench_sub: Any) -> None:
    parser: argparse.ArgumentParser = bench_sub.add_parser(
        "overload",
        help="SOS latency with the simulator offering twice what the gateway sustains",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--wearables", type=int, default=1000, help="simulated wearables (default 1000)")
    parser.add_argument(
        "--rates", default="1000,2000,3000,4000,5000,6000,8000", help="offered msg/s to find the capacity"
    )
    parser.add_argument("--step-seconds", type=float, default=12.0, help="seconds per capacity step")
    parser.add_argument("--capacity", type=float, default=None, help="skip the ladder: take this msg/s")
    parser.add_argument("--factor", type=float, default=2.0, help="overload = factor × capacity")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of overload")
    parser.add_argument("--probe-every", type=float, default=0.25, help="seconds between SOS presses")
    parser.add_argument(
        "--plot", type=Path, default=None, metavar="PNG", help="write the latency distributions to this PNG"
    )
    parser.set_defaults(func=_main)
