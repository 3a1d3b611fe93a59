"""MQTT adapter (paho-mqtt 2.x): the gateway's high-rate subscription and its downlink publisher.

paho runs its own network thread. Each message is handed to the asyncio side through a bounded
queue: the paho thread takes a slot from a semaphore first, so when the gateway falls behind the
thread stops reading the socket and the broker holds the backlog (no message is dropped here).
Alarms (``sos`` and ``fall`` channels) are acknowledged to the broker (PUBACK, ``manual_ack``) only
when the gateway has handled them (:meth:`MqttIngest.done`), so an alarm the gateway had not yet
stored is redelivered after a crash; the session is persistent (stable client id,
``clean_start=False``), so this also holds across restarts. Telemetry is acknowledged on receipt:
acknowledging from the event loop costs a network-thread wake-up per message (measured: about 150 µs,
half the gateway's time per message), and a lost heartbeat is not worth it.

Protocol: MQTT 5; with ``protocol="auto"`` a broker answering "unsupported protocol version" gets a
3.1.1 client instead. Reconnects use paho's capped backoff.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from contracts.topics import is_alarm_channel
from edge.errors import EdgeError
from edge.settings import MqttEndpoint

log = logging.getLogger(__name__)

_UNSUPPORTED_PROTOCOL = (1, 132)  # 3.1.1 CONNACK rc 1 / MQTT 5 reason 0x84
RECEIVE_MAXIMUM = 1000  # QoS 1 messages the broker may have in flight to us (paho wraps at 65,535)


class MqttError(EdgeError):
    """Publishing or connecting to the broker failed."""


@dataclass(frozen=True, slots=True)
class RawMessage:
    topic: str
    payload: bytes
    received_ms: int  # wall clock (the gateway's clock), epoch ms
    received_mono: float  # time.perf_counter() at receipt, for latency metrics
    mid: int
    qos: int
    acked: bool  # True when the PUBACK went out on receipt (telemetry)


class MqttIngest:
    def __init__(
        self,
        *,
        endpoint: MqttEndpoint,
        client_id: str,
        topic_filter: str,
        protocol: str = "auto",
        queue_size: int = 10_000,
        session_expiry_s: int = 86_400,
        connack_timeout_s: float = 5.0,
        clock_ms: Callable[[], int],
        on_connected: Callable[[bool], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.client_id = client_id
        self.topic_filter = topic_filter
        self.protocol = protocol
        self.session_expiry_s = session_expiry_s
        self.connack_timeout_s = connack_timeout_s
        self._clock_ms = clock_ms
        self._on_connected = on_connected
        self._slots = threading.Semaphore(queue_size)
        # paho thread → loop: a deque plus one wake-up per batch (not one self-pipe write per message)
        self._buffer: collections.deque[RawMessage] = collections.deque()
        self._signalled = False
        self._ready = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self._stopping = threading.Event()
        self._downgrade = asyncio.Event()
        self._socket_open = asyncio.Event()
        self._answered = asyncio.Event()  # a CONNACK (success or refusal) arrived
        self.connected = asyncio.Event()
        self.subscribed = asyncio.Event()
        self.version: MQTTProtocolVersion = mqtt.MQTTv5 if protocol in ("auto", "5") else mqtt.MQTTv311

    # -- paho thread -------------------------------------------------------------------------------
    def _on_socket_open(self, _c: mqtt.Client, _u: Any, sock: Any) -> None:
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._call(self._socket_open.set)

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._call(self._answered.set)
        if reason.is_failure:
            log.warning("mqtt.connect_refused reason=%s", reason)
            if (
                self.protocol == "auto"
                and self.version == mqtt.MQTTv5
                and reason.value in _UNSUPPORTED_PROTOCOL
            ):
                self._call(self._downgrade.set)
            return
        if self.version == mqtt.MQTTv5:
            client.subscribe(self.topic_filter, options=SubscribeOptions(qos=1))
        else:
            client.subscribe(self.topic_filter, qos=1)
        log.info(
            "mqtt.connected version=%s client_id=%s",
            "5" if self.version == mqtt.MQTTv5 else "3.1.1",
            self.client_id,
        )
        self._call(self._set_connected, True)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
        if any(getattr(r, "is_failure", False) for r in reasons):
            log.error("mqtt.subscribe_refused filter=%s", self.topic_filter)
            return
        self._call(self.subscribed.set)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not self._stopping.is_set():
            log.warning("mqtt.disconnected reason=%s", reason)
        self._call(self._set_connected, False)

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        # alarms are acknowledged to the broker only once handled (on disk)
        ack_now = message.qos > 0 and not is_alarm_channel(message.topic)
        if ack_now:  # cheap here on the network thread; from the loop thread it costs a wake-up each
            client.ack(message.mid, message.qos)
        raw = RawMessage(
            topic=message.topic,
            payload=bytes(message.payload),
            received_ms=self._clock_ms(),
            received_mono=time.perf_counter(),
            mid=message.mid,
            qos=message.qos,
            acked=ack_now,
        )
        while not self._slots.acquire(timeout=0.5):  # queue full: hold the socket, the broker buffers
            if self._stopping.is_set():
                return
        self._buffer.append(raw)
        if not self._signalled:  # the loop is (about to be) waiting: wake it once
            self._signalled = True
            self._call(self._ready.set)

    def _call(self, fn: Callable[..., Any], *args: Any) -> bool:
        loop = self._loop
        if loop is None or loop.is_closed():
            return False
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # loop closed in between
            return False
        return True

    # -- asyncio side ------------------------------------------------------------------------------
    def _set_connected(self, up: bool) -> None:
        if up:
            self.connected.set()
        else:
            self.connected.clear()
        if self._on_connected is not None:
            self._on_connected(up)

    def _make_client(self) -> mqtt.Client:
        v5 = self.version == mqtt.MQTTv5
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=self.version,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        client.on_socket_open = self._on_socket_open
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.reconnect_delay_set(1, 30)
        client.max_inflight_messages_set(RECEIVE_MAXIMUM)
        client.max_queued_messages_set(0)
        if self.endpoint.username is not None:
            client.username_pw_set(self.endpoint.username, self.endpoint.password)
        if self.endpoint.tls:
            client.tls_set_context(ssl.create_default_context())
        properties: Properties | None = None
        if v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.session_expiry_s
            properties.ReceiveMaximum = RECEIVE_MAXIMUM
        client.connect_async(
            self.endpoint.host,
            self.endpoint.port,
            keepalive=30,
            clean_start=False if v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=properties,
        )
        return client

    async def run(self) -> None:
        """Keep the client running until cancelled (then disconnect cleanly)."""
        self._loop = asyncio.get_running_loop()
        self._stopping.clear()
        try:
            while True:
                self._downgrade.clear()
                self._socket_open.clear()
                self._answered.clear()
                client = self._client = self._make_client()
                client.loop_start()
                if self.protocol == "auto" and self.version == mqtt.MQTTv5:
                    await self._watch_first_connack()
                await self._downgrade.wait()
                log.warning("mqtt.downgrade to=3.1.1 reason=broker_refused_mqtt5")
                await asyncio.to_thread(self._shutdown_client, client)
                self.version = mqtt.MQTTv311
        finally:
            self._stopping.set()
            if self._client is not None:
                await asyncio.to_thread(self._shutdown_client, self._client)

    async def _watch_first_connack(self) -> None:
        """Some 3.1.1-only brokers (amqtt) never answer an MQTT 5 CONNECT: treat silence as a refusal."""
        await self._socket_open.wait()
        try:
            async with asyncio.timeout(self.connack_timeout_s):
                await self._answered.wait()
        except TimeoutError:
            log.warning("mqtt.no_connack timeout_s=%.1f", self.connack_timeout_s)
            self._downgrade.set()

    @staticmethod
    def _shutdown_client(client: mqtt.Client) -> None:
        client.disconnect()
        client.loop_stop()

    async def get(self) -> RawMessage:
        return (await self.get_batch(1))[0]

    async def get_batch(self, max_items: int) -> list[RawMessage]:
        """Wait for at least one message, then take up to ``max_items`` in arrival order."""
        buffer = self._buffer
        while not buffer:
            self._signalled = False
            self._ready.clear()
            if buffer:  # appended while we were resetting: no wake-up was sent for it
                break
            await self._ready.wait()
        count = min(len(buffer), max_items)
        return [buffer.popleft() for _ in range(count)]

    def qsize(self) -> int:
        return len(self._buffer)

    def done(self, message: RawMessage, *, ack: bool = True) -> None:
        """The gateway handled ``message``: free its queue slot and acknowledge it to the broker.

        ``ack=False`` leaves a QoS 1 message unacknowledged, so the broker sends it again after the
        next reconnect (used when it could not be stored).
        """
        self._slots.release()
        if ack and not message.acked and message.qos > 0 and self._client is not None:
            self._client.ack(message.mid, message.qos)

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> mqtt.MQTTMessageInfo:
        """Queue ``payload`` for ``topic`` (paho sends it, and resends a QoS 1 one after a reconnect)."""
        if self._client is None:
            raise MqttError("MQTT client not started")
        return self._client.publish(topic, payload, qos=qos)

    async def publish_confirmed(self, topic: str, payload: bytes, *, timeout_s: float) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK (raise :class:`MqttError` on timeout)."""
        info = self.publish(topic, payload, qos=1)
        try:
            async with asyncio.timeout(timeout_s):
                while not info.is_published():
                    await asyncio.to_thread(info.wait_for_publish, min(timeout_s, 1.0))
        except (TimeoutError, RuntimeError, ValueError) as exc:
            raise MqttError(f"downlink not confirmed by the broker: {type(exc).__name__}") from exc
