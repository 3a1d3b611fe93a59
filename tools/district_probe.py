"""The measuring ends of ``anxin bench district``: SOS presses on MQTT and an operator's live stream.

Each press is a new card (``card-bench-00001``…, seq 1), so each one opens its own incident at the
center, and its ``incident.created`` on the operator's SSE stream names the card: press → console event
is read off one clock (this process's ``perf_counter``). A bare MQTT subscriber of the same topics gives
the broker's own press → subscriber time beside it, and the cards' ``alarm_received`` (the gateway's
answer) splits the path into gateway and center.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contracts import SosPress, encode, uplink_topic
from contracts.topics import DOWNLINK_PREFIX, UplinkChannel, uplink_filters

PREFIX = "card-bench-"


def _nodelay(_c: mqtt.Client, _u: Any, sock: Any) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _client(client_id: str, host: str, port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_socket_open = _nodelay
    client.connect(host, port, keepalive=30)
    client.loop_start()
    return client


def _subscribe(client: mqtt.Client, topic: str, on_message: Any) -> None:
    subscribed = threading.Event()
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_message = on_message
    client.subscribe(topic, qos=1)
    if not subscribed.wait(10):
        raise RuntimeError(f"not subscribed to {topic}")


@dataclass
class Presses:
    """SOS presses on one MQTT connection, and a raw subscriber noting when the broker delivers them."""

    host: str
    port: int
    pressed: dict[str, float] = field(default_factory=dict)
    echoed: dict[str, float] = field(default_factory=dict)
    acked: dict[str, float] = field(default_factory=dict)
    pressed_wall_ms: dict[str, float] = field(default_factory=dict)  # wall clock, for the center's stamps
    count: int = 0

    def __post_init__(self) -> None:
        self._card = _client("bench-district-cards", self.host, self.port)
        self._raw = _client("bench-district-raw", self.host, self.port)
        [sos] = uplink_filters([UplinkChannel.SOS])
        _subscribe(self._raw, sos, self._on_echo)
        _subscribe(self._card, f"{DOWNLINK_PREFIX}/+/alarm", self._on_ack)

    def _on_ack(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        parts = message.topic.split("/")
        device = parts[3] if len(parts) == 5 else ""
        if device.startswith(PREFIX) and device not in self.acked:
            self.acked[device] = time.perf_counter()

    def _on_echo(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        parts = message.topic.split("/")
        device = parts[3] if len(parts) == 5 else ""
        if device.startswith(PREFIX) and device not in self.echoed:
            self.echoed[device] = time.perf_counter()

    def press(self) -> str:
        self.count += 1
        device = f"{PREFIX}{self.count:05d}"
        payload = encode(SosPress(device_id=device, seq=1, ts=int(time.time() * 1000)))
        self.pressed[device] = time.perf_counter()
        self.pressed_wall_ms[device] = time.time() * 1000
        self._card.publish(uplink_topic(device, "sos"), payload, qos=1)
        return device

    def close(self) -> None:
        for client in (self._card, self._raw):
            client.loop_stop()
            client.disconnect()


class Console:
    """An operator's live stream (``GET /api/v1/stream``): when each bench card's incident appeared."""

    def __init__(self, base_url: str, password: str) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(10, read=None))
        self._password = password
        self.seen: dict[str, float] = {}
        # per card: (wall ms on arrival, the incident's edge_ts, its cloud_ts): the hops on one clock
        self.stamps: dict[str, tuple[float, int, int]] = {}
        self.duplicates = 0
        self.changed = asyncio.Event()
        self.connected = asyncio.Event()

    async def follow(self) -> None:
        """Log in and read the stream until cancelled."""
        answer = await self._http.post(
            "/api/v1/auth/login", json={"username": "operator", "password": self._password}
        )
        answer.raise_for_status()
        async with self._http.stream("GET", "/api/v1/stream") as stream:
            name = ""
            async for line in stream.aiter_lines():
                if line.startswith(": connected"):
                    self.connected.set()
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:") and name == "incident.created":
                    self._note(orjson.loads(line[5:]))

    def _note(self, data: dict[str, Any]) -> None:
        device = data.get("device_id")
        if not isinstance(device, str) or not device.startswith(PREFIX):
            return
        if device in self.seen:
            self.duplicates += 1
            return
        self.seen[device] = time.perf_counter()
        self.stamps[device] = (time.time() * 1000, int(data.get("edge_ts", 0)), int(data.get("cloud_ts", 0)))
        self.changed.set()

    async def wait_for(self, devices: list[str], timeout_s: float) -> None:
        """Until every one of ``devices`` has appeared, or ``timeout_s`` passes."""
        with_deadline = time.perf_counter() + timeout_s
        while any(d not in self.seen for d in devices):
            left = with_deadline - time.perf_counter()
            if left <= 0:
                return
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                return

    async def aclose(self) -> None:
        await self._http.aclose()
