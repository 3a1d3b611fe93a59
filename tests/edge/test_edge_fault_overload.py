"""Fault: a flood of telemetry does not hold an SOS back, and what the gateway sheds is counted.

A backlog of vitals is queued by the (real) broker in the gateway's persistent telemetry session while
the gateway is away; when it comes back the backlog pours in far faster than it can handle, and a card
presses SOS right then. The SOS must be stored, confirmed to the card and forwarded to the center while
telemetry sent *before* it is still being worked through (it overtook the backlog), and the telemetry
the gateway could not keep up with must be shed and counted by channel — never an alarm. No timing is
asserted: speed is for ``anxin bench overload``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from edge_cloud_standin import CloudStandIn
from edge_testkit import BASE_TS, DeviceLink

from broker.runner import MosquittoBroker
from contracts import AlarmReceived, SosPress, Vitals, decode_downlink, encode, uplink_topic

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

BACKLOG = 20_000
WEARABLES = 500


def _publish_backlog(host: str, port: int, count: int) -> None:
    """QoS 1 vitals from ``WEARABLES`` devices, at most 1,000 unacknowledged (paho in its own thread)."""
    window = threading.Semaphore(1000)
    done = threading.Event()
    acked = 0

    def on_publish(*_a: Any) -> None:
        nonlocal acked
        acked += 1
        window.release()
        if acked == count:
            done.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="flood", protocol=mqtt.MQTTv5)
    client.on_publish = on_publish
    client.max_inflight_messages_set(1000)
    client.connect(host, port)
    client.loop_start()
    try:
        for i in range(count):
            device, seq = f"wear-{i % WEARABLES:04d}", i // WEARABLES + 1
            vitals = Vitals(device_id=device, seq=seq, ts=BASE_TS + seq * 1000, hr_bpm=70, spo2_pct=97)
            assert window.acquire(timeout=30), "broker stopped acknowledging the flood"
            client.publish(uplink_topic(device, "vitals"), encode(vitals), qos=1)
        assert done.wait(60), "flood not acknowledged"
    finally:
        client.loop_stop()
        client.disconnect()


async def test_an_sos_overtakes_a_telemetry_flood_and_shed_telemetry_is_counted(
    mosquitto: MosquittoBroker, cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    # a short shed lag: the flood is shed on any machine, however fast it drains (no timing asserted)
    settings = {"accept_unknown_devices": True, "ingest_queue_size": 400, "shed_lag_s": 0.01}
    async with gateway_factory(**settings):
        pass  # creates the gateway's persistent sessions: the broker queues for them from now on
    await asyncio.to_thread(_publish_backlog, mosquitto.host, mosquitto.port, BACKLOG)
    await device.listen("card-1")
    async with gateway_factory(**settings) as gateway:

        def vitals_in() -> int:  # handled or shed so far
            return int(gateway.accepted_count("vitals")) + gateway.ingest.shed.get("vitals", 0)

        await device.publish("card-1", "sos", encode(SosPress(device_id="card-1", seq=1, ts=BASE_TS)))
        [(_, payload)] = await device.wait_downlinks(1, within_s=30)
        handled_at_ack = gateway.accepted_count("vitals")
        ack = decode_downlink(payload)
        assert isinstance(ack, AlarmReceived) and ack.ref_seq == 1
        await gateway.wait_until(lambda: vitals_in() == BACKLOG, within_s=90)
        await cloud.wait_for(lambda: "card-1:1" in cloud.stored_keys())
        handled, shed = gateway.accepted_count("vitals"), gateway.ingest.shed
    # the flood was published before the press, yet some of it was handled after the SOS was confirmed
    assert handled > handled_at_ack, (handled_at_ack, handled)
    assert shed.get("vitals", 0) > 0 and set(shed) <= {"vitals", "accel", "status", "location", "wear"}
    assert gateway.metrics.get_sample_value("anxin_edge_shed_total", {"channel": "vitals"}) == shed["vitals"]
    assert handled + shed["vitals"] == BACKLOG  # every message is either handled or counted as shed
    assert gateway.accepted_count("sos") == 1
