"""The SOS path end to end, real at every hop, wired exactly as ``anxin demo`` wires it.

A device (paho client) publishes SOS at QoS 1 → edge gateway → SQLite outbox → cloud (real HTTP, real
SQLite) → the device gets "alarm received"; an operator logs in and acknowledges → the device gets
"help is coming". Run against the real Mosquitto binary and against the in-process amqtt fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest
from e2e_live import LiveIncidents

import contracts as c
from anxin.demo import DemoConfig, run_demo
from broker.runner import AmqttBroker, MosquittoBroker, free_port

PASSWORD = "e2e-operator-pass-1"
DEVICE = "card-0001"


@dataclass
class Device:
    """A minimal real MQTT device: publishes uplinks, records downlinks."""

    device_id: str
    host: str
    port: int
    downlinks: list[c.DownlinkMessage] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.device_id)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        self.client.subscribe(c.downlink_filter(self.device_id), qos=1)
        assert subscribed.wait(5)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self.changed:
            self.downlinks.append(c.decode_downlink(msg.payload))
            self.changed.notify_all()

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def wait_for(
        self, predicate: Callable[[c.DownlinkMessage], bool], timeout: float = 15
    ) -> c.DownlinkMessage:
        with self.changed:
            ok = self.changed.wait_for(lambda: any(predicate(d) for d in self.downlinks), timeout)
            assert ok, f"no matching downlink within {timeout} s; got {self.downlinks}"
            return next(d for d in self.downlinks if predicate(d))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@contextlib.asynccontextmanager
async def running_system(tmp_path: Path, mqtt_url: str) -> AsyncIterator[str]:
    port = free_port()
    config = DemoConfig(
        http_port=port,
        mqtt_port=None,
        mqtt_url=mqtt_url,
        devices=0,
        operator_password=PASSWORD,
        data_dir=tmp_path / "demo",
        keep_data=False,
        seed=1,
        sos_every_s=3600,
        broker="auto",
    )
    ready = asyncio.Event()
    task = asyncio.create_task(run_demo(config, ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _incidents(client: httpx.AsyncClient) -> list[dict[str, object]]:
    response = await client.get("/api/v1/incidents", params={"status": "all"})
    response.raise_for_status()
    body = response.json()
    return list(body["items"] if isinstance(body, dict) else body)


def _sos(seq: int) -> bytes:
    return c.encode(c.SosPress(device_id=DEVICE, seq=seq, ts=int(time.time() * 1000)))


async def _exercise_sos_path(base_url: str, host: str, port: int) -> None:
    device = await asyncio.to_thread(Device, DEVICE, host, port)
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as api:
            login = await api.post("/api/v1/auth/login", json={"username": "operator", "password": PASSWORD})
            assert login.status_code == 200, login.text
            live = LiveIncidents(api)
            follower = asyncio.create_task(live.follow())
            await asyncio.wait_for(live.connected.wait(), 10)

            try:
                topic = c.uplink_topic(DEVICE, c.UplinkChannel.SOS)
                await asyncio.to_thread(device.publish, topic, _sos(5001))
                received = await asyncio.to_thread(
                    device.wait_for, lambda d: isinstance(d, c.AlarmReceived) and d.ref_seq == 5001
                )
                assert isinstance(received, c.AlarmReceived)

                await live.wait_for(lambda seen: len(seen) >= 1)
                items = await _incidents(api)
                assert len(items) == 1
                incident = items[0]
                assert incident["kind"] == "sos" and incident["device_id"] == DEVICE

                # The same message again (a QoS 1 redelivery) and garbage: still exactly one incident.
                await asyncio.to_thread(device.publish, topic, _sos(5001))
                await asyncio.to_thread(device.publish, topic, b"{not json")
                await asyncio.to_thread(device.publish, topic, b'{"v": 9, "type": "sos"}')

                ack = await api.post(f"/api/v1/incidents/{incident['id']}/acknowledge", json={"eta_min": 12})
                assert ack.status_code == 200, ack.text
                help_coming = await asyncio.to_thread(
                    device.wait_for, lambda d: isinstance(d, c.OperatorAcknowledged) and d.ref_seq == 5001
                )
                assert isinstance(help_coming, c.OperatorAcknowledged)
                assert help_coming.eta_min == 12

                # The gateway kept serving after the bad input: a cancel from the same device is applied.
                await asyncio.to_thread(
                    device.publish,
                    topic,
                    c.encode(
                        c.SosCancel(device_id=DEVICE, seq=5002, ref_seq=5001, ts=int(time.time() * 1000))
                    ),
                )
                await live.wait_for(lambda seen: seen[incident["id"]]["status"] == "cancelled")
                items = await _incidents(api)
                assert len(items) == 1, orjson.dumps(items)
                assert items[0]["status"] == "cancelled"
            finally:
                follower.cancel()
    finally:
        await asyncio.to_thread(device.close)


@pytest.mark.integration
async def test_sos_path_through_mosquitto(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    async with running_system(tmp_path, mosquitto.url) as base_url:
        await _exercise_sos_path(base_url, mosquitto.host, mosquitto.port)


@pytest.mark.integration
async def test_sos_path_through_embedded_amqtt(tmp_path: Path, amqtt_broker: AmqttBroker) -> None:
    async with running_system(tmp_path, amqtt_broker.url) as base_url:
        await _exercise_sos_path(base_url, amqtt_broker.host, amqtt_broker.port)
