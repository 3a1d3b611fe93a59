"""The alarm lane: the gateway's own MQTT connection for alarms (aiomqtt), never behind telemetry.

A second client (client id ``<client_id>-alarms``, persistent session, its own keep-alive) subscribes
only to the alarm channels (``sos`` — presses and cancels — and ``fall``), so an alarm never waits in
the broker's queue, the socket or the gateway's queue behind a flood of telemetry: the broker keeps a
queue per session, and this one holds alarms only. The lane also publishes every downlink (``alarm_received``
and the center's commands), so the answer to a device does not queue behind telemetry either.

Each alarm is handed to ``handler`` in arrival order; it is acknowledged to the broker (PUBACK) only
once the handler says it is stored (manual acknowledgement), so an alarm the gateway could not store is
sent again by the broker after a reconnect. While the lane has an alarm waiting or in hand, ``busy`` is
true and the telemetry consumer waits (:meth:`wait_idle`).

aiomqtt has no API for manual acknowledgement; paho's, on the client aiomqtt wraps, is used
(``manual_ack_set`` / ``ack``), pinned by the ``aiomqtt<3`` requirement.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Sequence

import aiomqtt
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.delivery.backoff import Backoff
from edge.ingest.mqtt import RECEIVE_MAXIMUM, MqttError, RawMessage
from edge.settings import MqttEndpoint

log = logging.getLogger(__name__)

# the handler returns True once the alarm is stored (then it is acknowledged to the broker)
AlarmHandler = Callable[[RawMessage], Awaitable[bool]]


class AlarmLane:
    def __init__(
        self,
        *,
        endpoint: MqttEndpoint,
        client_id: str,
        topic_filters: Sequence[str],
        version: Callable[[], Awaitable[int]],
        keepalive_s: int,
        session_expiry_s: int,
        timeout_s: float,
        clock_ms: Callable[[], int],
        backoff: Backoff,
        on_connected: Callable[[bool], None] | None = None,
        owns: Callable[[str], bool] | None = None,
        on_skipped: Callable[[], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._owns = owns  # one worker of several: is this topic's device ours? (None: every device)
        self._on_skipped = on_skipped
        self.client_id = client_id
        self.topic_filters = list(topic_filters)
        self._version = version  # resolves to paho's MQTTv5 / MQTTv311 (auto: what the broker took)
        self.keepalive_s = keepalive_s
        self.session_expiry_s = session_expiry_s
        self.timeout_s = timeout_s
        self._clock_ms = clock_ms
        self._backoff = backoff
        self._on_connected = on_connected
        self._client: aiomqtt.Client | None = None
        self._handling = False
        self._idle = asyncio.Event()
        self._idle.set()
        self.connected = asyncio.Event()
        self.subscribed = asyncio.Event()
        self.received = 0

    # -- priority over telemetry -------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """An alarm is waiting in the client's queue or being handled."""
        client = self._client
        return self._handling or (client is not None and len(client.messages) > 0)

    async def wait_idle(self) -> None:
        """Return once no alarm is waiting or in hand (telemetry yields to alarms)."""
        while self.busy:
            self._idle.clear()
            await self._idle.wait()

    # -- connection ----------------------------------------------------------------------------------
    def _make_client(self, version: int) -> aiomqtt.Client:
        v5 = version == mqtt.MQTTv5
        properties: Properties | None = None
        if v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.session_expiry_s
            properties.ReceiveMaximum = RECEIVE_MAXIMUM
        client = aiomqtt.Client(
            self.endpoint.host,
            self.endpoint.port,
            username=self.endpoint.username,
            password=self.endpoint.password,
            identifier=self.client_id,
            protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
            clean_session=None if v5 else False,
            clean_start=False if v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            keepalive=self.keepalive_s,
            timeout=self.timeout_s,
            properties=properties,
            tls_context=self.endpoint.tls_context() if self.endpoint.tls else None,
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            max_inflight_messages=RECEIVE_MAXIMUM,
        )
        client._client.manual_ack_set(True)  # PUBACK only once stored (see the module docstring)
        return client

    async def run(self, handler: AlarmHandler) -> None:
        """Connect, subscribe and hand every alarm to ``handler``; reconnect until cancelled."""
        version = await self._version()
        while True:
            try:
                async with self._make_client(version) as client:
                    self._client = client
                    await client.subscribe([(f, 1) for f in self.topic_filters], timeout=self.timeout_s)
                    self._set_connected(True)
                    self._backoff.reset()
                    log.info("alarm_lane.connected client_id=%s", self.client_id)
                    async for message in client.messages:
                        await self._handle(client, message, handler)
            except aiomqtt.MqttError as exc:
                self._lost()
                delay = self._backoff.next_delay()
                log.warning("alarm_lane.disconnected error=%s retry_s=%.1f", exc, delay)
                await asyncio.sleep(delay)
            finally:
                self._lost()

    async def _handle(self, client: aiomqtt.Client, message: aiomqtt.Message, handler: AlarmHandler) -> None:
        if self._owns is not None and not self._owns(str(message.topic)):
            # another worker's device: that worker's own subscription gets its own copy
            if message.qos > 0:
                client._client.ack(message.mid, message.qos)
            if self._on_skipped is not None:
                self._on_skipped()
            if not len(client.messages):
                self._idle.set()
            return
        self._handling = True
        self.received += 1
        payload = message.payload
        raw = RawMessage(
            topic=str(message.topic),
            payload=payload if isinstance(payload, bytes) else str(payload or "").encode(),
            received_ms=self._clock_ms(),
            received_mono=time.perf_counter(),
            mid=message.mid,
            qos=message.qos,
            acked=False,
        )
        try:
            stored = await handler(raw)
            if stored and message.qos > 0:
                client._client.ack(message.mid, message.qos)
        finally:
            self._handling = False
            if not len(client.messages):
                self._idle.set()

    def _lost(self) -> None:
        self._client = None
        self._handling = False
        self._idle.set()
        if self.connected.is_set():
            self._set_connected(False)

    def _set_connected(self, up: bool) -> None:
        if up:
            self.connected.set()
            self.subscribed.set()
        else:
            self.connected.clear()
        if self._on_connected is not None:
            self._on_connected(up)

    # -- downlinks -----------------------------------------------------------------------------------
    def publish(self, topic: str, payload: bytes) -> None:
        """Queue a QoS 1 downlink without waiting for the broker (an ``alarm_received``: a device that
        misses it repeats its alarm and is answered again)."""
        client = self._client
        if client is None:
            log.warning("alarm_lane.publish_skipped reason=disconnected")
            return
        client._client.publish(topic, payload, qos=1)

    async def publish_confirmed(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK (raise :class:`MqttError` otherwise)."""
        client = self._client
        if client is None:
            raise MqttError("alarm lane not connected")
        try:
            await client.publish(topic, payload, qos=1, timeout=self.timeout_s)
        except aiomqtt.MqttError as exc:
            raise MqttError(f"downlink not confirmed by the broker: {exc}") from exc
