"""`anxin bench gateway --ladder`: the load generator's packets and a short real climb per kind."""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from broker.runner import MosquittoBroker
from contracts import AccelBatch, Vitals, decode_uplink, uplink_filter, uplink_topic
from firmware_sim.models.wearable import Wearable
from tools.ladder_bench import add_arguments, ladder, report
from tools.ladder_load import TS, Fleet, Payloads, device_name


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_accel_payloads_are_the_wearables_batches_with_contiguous_time() -> None:
    payloads = Payloads("accel", 3)
    first = decode_uplink(uplink_topic(device_name(1), "accel"), payloads.payload(1, 7))
    second = decode_uplink(uplink_topic(device_name(1), "accel"), payloads.payload(1, 8))
    assert isinstance(first, AccelBatch) and isinstance(second, AccelBatch)
    assert (first.seq, first.ts, second.ts) == (7, TS + 7_000, TS + 8_000)
    assert len(first.samples) == first.rate_hz == 50  # one second at 50 Hz
    assert first.samples != second.samples
    # the simulator's wearable encodes its own batches the same way (one encoder)
    wearable = Wearable("wear-1", "p-1", np.random.default_rng(3), TS)
    raw = wearable.handlers()["accel"](TS)[0].raw
    assert raw is not None
    sent = decode_uplink(uplink_topic("wear-1", "accel"), raw)
    assert isinstance(sent, AccelBatch) and len(sent.samples) == 50


def test_fleet_publishes_every_planned_packet_at_qos1(mosquitto: MosquittoBroker) -> None:
    got: list[tuple[str, bytes]] = []
    done, subscribed = threading.Event(), threading.Event()
    sent = [1 << 30]  # known once the offer ends

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        got.append((msg.topic, bytes(msg.payload)))
        if len(got) >= sent[0]:
            done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ladder-test-sub")
    sub.on_message = on_message
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.connect(mosquitto.host, mosquitto.port)
    sub.loop_start()
    fleet = Fleet(mosquitto.host, mosquitto.port, 6)
    try:
        sub.subscribe(uplink_filter(), qos=1)
        assert subscribed.wait(10)
        offered = fleet.offer(Payloads("vitals", 6), 120.0, 0.5)
        sent[0] = fleet.sent["vitals"]
        assert offered > 0 and sent[0] >= 50  # the rate held (60 planned; the clock may end a step early)
        if len(got) >= sent[0]:
            done.set()
        assert done.wait(10), f"{len(got)} of {sent[0]} arrived"
        deadline = time.monotonic() + 10
        while fleet.acked < sent[0] and time.monotonic() < deadline:
            fleet.pump(0.05)  # reads what the broker sent (a wait on the sockets, not a sleep)
        assert fleet.acked == sent[0]  # a PUBACK for each
        messages = [m for topic, payload in got if isinstance(m := decode_uplink(topic, payload), Vitals)]
        assert len(messages) == len(got) == sent[0]
        by_device = {d: [m.seq for m in messages if m.device_id == d] for d in map(device_name, range(6))}
        assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_device.values())  # in order
    finally:
        fleet.close()
        sub.loop_stop()
        sub.disconnect()


def test_a_short_accel_climb_against_a_real_gateway() -> None:
    args = _args(
        "--ladder", "--kind", "accel", "--connections", "20", "--rates", "40",
        "--step-seconds", "2", "--workers", "1", "--reference-messages", "400",
    )  # fmt: skip
    references, steps = ladder(args)
    assert list(references) == ["accel"] and references["accel"] > 0
    [step] = steps
    assert (step.kind, step.workers) == ("accel", 1)
    assert step.offered > 30 and step.accepted > 0.5 * step.offered and step.shed == 0
    assert step.cpu_cores > 0 and step.load >= 0
    text = report(args, 0.0, references, steps)
    assert "| accel | 1 |" in text and "sustained, accel, 1 worker(s)" in text
