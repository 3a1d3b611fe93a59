"""``anxin bench gateway``: messages/s through Mosquitto into the gateway vs. raw broker throughput.

Both runs use the same payloads (valid vitals uplinks from many devices, QoS 1) and a fresh
``mosquitto``. The messages are queued by the broker in the consumer's persistent session while it
is offline, then the consumer connects and the drain is timed, so the publisher's speed does not
matter: first a bare paho subscriber that only counts, then the gateway, which decodes, validates,
checks the sequence window and runs the detectors. (Mosquitto queues at most 10,000 messages per
offline client with the project's config, hence the default count.) It also measures the SOS round
trip seen by a device: publish → gateway → outbox commit (fsync) → AlarmReceived, one at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broker.runner import free_port, start_mosquitto
from contracts import SosPress, Vitals, downlink_filter, encode, uplink_filter, uplink_topic
from edge.gateway import Gateway
from edge.settings import EdgeSettings
from tools.ladder_bench import add_arguments as add_ladder_arguments

TS = 1_764_000_000_000
IN_FLIGHT = 500


def _messages(count: int, devices: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(count):
        device = f"wear-{i % devices:05d}"
        seq = i // devices + 1
        msg = Vitals(device_id=device, seq=seq, ts=TS + seq * 1000, hr_bpm=60 + i % 30, spo2_pct=97)
        out.append((uplink_topic(device, "vitals"), encode(msg)))
    return out


def _nodelay(_c: mqtt.Client, _u: Any, sock: Any) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _client(client_id: str, host: str, port: int, *, persistent: bool = False) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_socket_open = _nodelay
    client.max_inflight_messages_set(IN_FLIGHT)
    client.max_queued_messages_set(0)
    properties = None
    if persistent:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600
    client.connect(host, port, clean_start=not persistent, properties=properties)
    return client


def _publish_all(host: str, port: int, messages: list[tuple[str, bytes]]) -> None:
    """Publish at QoS 1 keeping at most IN_FLIGHT unacknowledged (paho's queue is slow when long)."""
    window = threading.Semaphore(IN_FLIGHT)
    all_acked = threading.Event()
    acked = 0

    def on_publish(*_a: Any) -> None:
        nonlocal acked
        acked += 1
        window.release()
        if acked == len(messages):
            all_acked.set()

    client = _client("bench-publisher", host, port)
    client.on_publish = on_publish
    client.loop_start()
    try:
        for topic, payload in messages:
            if not window.acquire(timeout=60):
                raise RuntimeError("publisher stalled: no PUBACK for 60 s")
            client.publish(topic, payload, qos=1)
        if not all_acked.wait(120):
            raise RuntimeError("publisher: not every message was acknowledged")
    finally:
        client.loop_stop()
        client.disconnect()


def raw_rate(host: str, port: int, messages: list[tuple[str, bytes]]) -> tuple[float, float]:
    """Drain rate of a bare paho subscriber (QoS 1, messages queued for it by the broker), msg/s, and
    this process's CPU seconds per message during the drain."""
    done = threading.Event()
    subscribed = threading.Event()
    got = 0

    def on_message(_c: mqtt.Client, _u: Any, _m: mqtt.MQTTMessage) -> None:
        nonlocal got
        got += 1
        if got >= len(messages):
            done.set()

    def connect() -> mqtt.Client:
        sub = _client("bench-raw-sub", host, port, persistent=True)
        sub.on_message = on_message
        sub.on_subscribe = lambda *_a: subscribed.set()
        return sub

    sub = connect()
    sub.loop_start()
    sub.subscribe(uplink_filter(), qos=1)
    if not subscribed.wait(10):
        raise RuntimeError("raw subscriber not subscribed")
    sub.loop_stop()
    sub.disconnect()
    _publish_all(host, port, messages)  # queued by the broker for the offline subscriber
    started, cpu_started = time.perf_counter(), time.process_time()
    sub = connect()
    sub.loop_start()
    try:
        if not done.wait(120):
            raise RuntimeError(f"raw subscriber got {got} of {len(messages)}")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        return len(messages) / elapsed, cpu / len(messages)
    finally:
        sub.loop_stop()
        sub.disconnect()


async def gateway_run(
    url: str, data_dir: Path, messages: list[tuple[str, bytes]], alarms: int
) -> tuple[float, float, list[float], float]:
    """Drain rate of the gateway (messages queued in its persistent session), CPU seconds per message
    during the drain (the whole process: the gateway is all that runs in it then), SOS round trips,
    mean outbox write."""
    settings = EdgeSettings(
        edge_id="edge-bench",
        mqtt_url=url,
        cloud_url=f"http://127.0.0.1:{free_port()}",  # nobody there: events stay in the outbox
        cloud_token="bench-token-0123456789",
        data_dir=data_dir,
        accept_unknown_devices=True,
        http_timeout_s=1.0,
        ingest_queue_size=1_000_000,  # hold the whole drain: this bench measures throughput, not shedding
        shed_lag_s=600,
    )
    host, port = settings.mqtt.host, settings.mqtt.port
    first = Gateway(settings)  # creates the persistent session and its subscription
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(first.run())
        await asyncio.wait_for(first.started.wait(), 30)
        task.cancel()
    await asyncio.to_thread(_publish_all, host, port, messages)
    gateway = Gateway(settings)
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(gateway.run())
        await asyncio.wait_for(gateway.ingest.connected.wait(), 30)
        started = time.perf_counter()  # the drain starts with the connection, as for the raw run
        cpu_started = time.process_time()
        await gateway.wait_handled(len(messages), within_s=300)
        rate = len(messages) / (time.perf_counter() - started)
        cpu = (time.process_time() - cpu_started) / len(messages)
        round_trips = await asyncio.to_thread(_sos_round_trips, host, port, alarms)
        task.cancel()
    writes = gateway.metrics.get_sample_value("anxin_edge_outbox_write_seconds_count") or 1.0
    write_s = gateway.metrics.get_sample_value("anxin_edge_outbox_write_seconds_sum") or 0.0
    return rate, cpu, round_trips, write_s / writes


def _sos_round_trips(host: str, port: int, count: int) -> list[float]:
    """Seconds from SOS publish to AlarmReceived, one alarm at a time."""
    answered = threading.Event()
    subscribed = threading.Event()
    client = _client("bench-card", host, port)
    client.on_message = lambda *_a: answered.set()
    client.on_subscribe = lambda *_a: subscribed.set()
    client.loop_start()
    out = []
    try:
        client.subscribe(downlink_filter("card-bench"), qos=1)
        subscribed.wait(10)
        for seq in range(1, count + 1):
            answered.clear()
            payload = encode(SosPress(device_id="card-bench", seq=seq, ts=TS + seq))
            sent = time.perf_counter()
            client.publish(uplink_topic("card-bench", "sos"), payload, qos=1)
            if not answered.wait(10):
                raise RuntimeError("no AlarmReceived within 10 s")
            out.append(time.perf_counter() - sent)
    finally:
        client.loop_stop()
        client.disconnect()
    return out


def run(count: int, devices: int, alarms: int) -> dict[str, float]:
    messages = _messages(count, devices)
    with tempfile.TemporaryDirectory(prefix="anxin-bench-") as tmp:
        broker = start_mosquitto(workdir=Path(tmp) / "raw", persistence=False)
        try:
            raw, raw_cpu = raw_rate(broker.host, broker.port, messages)
        finally:
            broker.stop()
        broker = start_mosquitto(workdir=Path(tmp) / "gw", persistence=False)
        try:
            rate, cpu, trips, write_s = asyncio.run(
                gateway_run(broker.url, Path(tmp) / "edge", messages, alarms)
            )
        finally:
            broker.stop()
    trips.sort()
    return {
        "messages": count,
        "raw_msg_s": raw,
        "raw_cpu_us": raw_cpu * 1e6,
        "gateway_msg_s": rate,
        "gateway_cpu_us": cpu * 1e6,
        "ratio": rate / raw,
        "sos_rtt_p50_ms": statistics.median(trips) * 1000,
        "outbox_write_mean_ms": write_s * 1000,
        "sos_rtt_p99_ms": trips[min(len(trips) - 1, int(len(trips) * 0.99))] * 1000,
    }


def _main(args: argparse.Namespace) -> int:
    if args.ladder:
        from tools.ladder_bench import main_ladder

        return main_ladder(args)
    result = run(args.messages, args.devices, args.alarms)
    print(
        f"gateway bench: {result['messages']:.0f} vitals uplinks"
        f" (QoS 1, {args.devices} devices) via Mosquitto\n"
        f"  raw paho→paho      {result['raw_msg_s']:10,.0f} msg/s  "
        f"({result['raw_cpu_us']:.0f} µs CPU/msg)\n"
        f"  into the gateway   {result['gateway_msg_s']:10,.0f} msg/s  "
        f"({result['gateway_cpu_us']:.0f} µs CPU/msg, ratio {result['ratio']:.2f})\n"
        f"  SOS → disk → AlarmReceived round trip: p50 {result['sos_rtt_p50_ms']:.1f} ms, "
        f"p99 {result['sos_rtt_p99_ms']:.1f} ms ({args.alarms} alarms); "
        f"outbox commit+fsync mean {result['outbox_write_mean_ms']:.2f} ms"
    )
    return 0


def register(bench_sub: Any) -> None:
    parser: argparse.ArgumentParser = bench_sub.add_parser(
        "gateway",
        help="edge gateway throughput vs raw broker throughput, and the SOS round trip",
        description=__doc__,
    )
    parser.add_argument("--messages", type=int, default=10_000, help="uplinks to send (<= 10,000)")
    parser.add_argument("--devices", type=int, default=1_000, help="distinct device ids")
    parser.add_argument("--alarms", type=int, default=200, help="SOS round trips to time")
    add_ladder_arguments(parser)
    parser.set_defaults(func=_main)
