"""MQTT adapter (paho-mqtt 2.x) of the gateway's telemetry lane: its high-rate subscription.

paho runs its own network thread and hands each message to the asyncio side through a deque (one
wake-up per batch). The thread never blocks: when the gateway falls behind it **sheds** telemetry
instead of holding the socket — once the oldest waiting message has waited ``shed_lag_s`` (or half of
``queue_size`` wait) it drops the high-rate ``accel`` and ``vitals``; at four times that wait (or a
full queue) every message — and counts what it shed by channel. Holding the socket
would only move the backlog into the broker, which drops QoS 1 messages beyond its own queue limit
without telling anyone and stops hearing our keep-alives. Alarms never come this way: they have their
own connection (:mod:`edge.ingest.alarm_lane`). Every message is acknowledged (PUBACK) on receipt,
in the network thread: from the event loop an ack costs a wake-up per message (measured: about
150 µs, half the gateway's time per message).

The session is persistent (stable client id, ``clean_start=False``), so telemetry queued by the broker
while the gateway was away arrives after a restart. What the lane subscribes to (the site-wide filters,
or one worker's devices by name) is kept by :meth:`MqttIngest.want_devices` and
:class:`~edge.ingest.subscriptions.SubscriptionBook`: everything wanted is subscribed on each connect
(from the network thread, at once), and every later change from the event loop subscribes and waits
for the SUBACKs before it unsubscribes, in packets under the broker's size limit.

Protocol: MQTT 5; with ``protocol="auto"`` a broker answering "unsupported protocol version" gets a
3.1.1 client instead. Reconnects use paho's capped backoff.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.errors import EdgeError
from edge.ingest.subscriptions import SubscriptionBook, packets
from edge.settings import MqttEndpoint

log = logging.getLogger(__name__)

_UNSUPPORTED_PROTOCOL = (1, 132)  # 3.1.1 CONNACK rc 1 / MQTT 5 reason 0x84
RECEIVE_MAXIMUM = 1000  # QoS 1 messages the broker may have in flight to us (paho wraps at 65,535)
BULK_CHANNELS = frozenset({"accel", "vitals"})  # shed first (QoS 0 is allowed for them by the contract)
HOLD_MAX_S = 0.1  # the network thread pauses for an alarm in hand at most this long per message
RETRY_SUBSCRIBE_S = 5.0  # a subscription change the broker did not confirm is tried again after this


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
        topic_filters: Sequence[str],
        protocol: str = "auto",
        queue_size: int = 10_000,
        shed_lag_s: float = 2.0,
        session_expiry_s: int = 86_400,
        connack_timeout_s: float = 5.0,
        clock_ms: Callable[[], int],
        on_connected: Callable[[bool], None] | None = None,
        on_shed: Callable[[str], None] | None = None,
        owns: Callable[[str], bool] | None = None,
        on_skipped: Callable[[], None] | None = None,
        channels: frozenset[str] | None = None,
        shared_group: str | None = None,
        on_devices: Callable[[int], None] | None = None,
        subscribe_timeout_s: float = 10.0,
    ) -> None:
        self.endpoint = endpoint
        self._owns = owns  # one worker of several: is this topic's device ours? (None: every device)
        self._on_skipped = on_skipped
        self._channels = channels  # the channels handed on (None: all); a device filter matches all
        self._on_devices = on_devices  # devices subscribed by name, once the broker confirmed them
        self.client_id = client_id
        self.topic_filters = list(topic_filters)
        self.book = SubscriptionBook(tuple(topic_filters), shared_group)
        self._book_changed = asyncio.Event()
        self._acks: dict[int, asyncio.Future[bool]] = {}  # SUBACK / UNSUBACK awaited, by packet id
        self._connect_mids: dict[int, list[str]] = {}  # network thread: on_connect's SUBSCRIBEs
        self._connect_pending = 0  # loop: on_connect's SUBSCRIBEs not answered yet
        self.subscribe_timeout_s = subscribe_timeout_s
        self.protocol = protocol
        self.session_expiry_s = session_expiry_s
        self.connack_timeout_s = connack_timeout_s
        self._clock_ms = clock_ms
        self._on_connected = on_connected
        self._on_shed = on_shed
        self._shed_all_from = queue_size
        self._shed_bulk_from = max(1, queue_size // 2)
        self._shed_bulk_lag_ms = int(shed_lag_s * 1000)
        self._shed_all_lag_ms = 4 * self._shed_bulk_lag_ms
        self.shed: dict[str, int] = {}  # channel -> messages dropped because the gateway was behind
        # paho thread → loop: a deque plus one wake-up per batch (not one self-pipe write per message)
        self._buffer: collections.deque[RawMessage] = collections.deque()
        self._signalled = False
        self._ready = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self._stopping = threading.Event()
        self._go = threading.Event()  # cleared while an alarm is in hand: the network thread pauses
        self._go.set()
        self._downgrade = asyncio.Event()
        self._socket_open = asyncio.Event()
        self._answered = asyncio.Event()  # a CONNACK (success or refusal) arrived
        self.connected = asyncio.Event()
        self.subscribed = asyncio.Event()  # the first time the wanted filters were all confirmed
        self.settled = asyncio.Event()  # while the broker holds exactly the filters wanted
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
        # Subscribe right here, before the broker's queued messages crowd the connection (a SUBSCRIBE
        # sent from the loop after a backlog's PUBACKs waited ~8 s for its SUBACK under a 20k backlog).
        self._connect_mids = {}
        for group in packets(self.book.wanted()):  # ``devices`` is swapped whole by the loop: safe
            rc, mid = self._subscribe(client, group)
            if rc == mqtt.MQTT_ERR_SUCCESS and mid is not None:
                self._connect_mids[mid] = group
        log.info(
            "mqtt.connected version=%s client_id=%s",
            "5" if self.version == mqtt.MQTTv5 else "3.1.1",
            self.client_id,
        )
        self._call(self._set_connected, True, list(self._connect_mids.values()))

    def _subscribe(self, client: mqtt.Client, group: list[str]) -> tuple[MQTTErrorCode, int | None]:
        if self.version == mqtt.MQTTv5:
            return client.subscribe([(f, SubscribeOptions(qos=1)) for f in group])
        return client.subscribe([(f, 1) for f in group])

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, reasons: Any, _p: Any) -> None:
        refused = sum(1 for r in reasons if getattr(r, "is_failure", False))
        if refused:
            log.error("mqtt.subscribe_refused filters=%d of=%d", refused, len(reasons))
        group = self._connect_mids.pop(mid, None)  # this thread's own, from on_connect
        if group is not None:
            self._call(self._connect_acked, group, not refused)
        else:
            self._call(self._acked, mid, not refused)

    def _on_unsubscribe(self, _c: mqtt.Client, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        self._call(self._acked, mid, True)  # "no subscription existed" is as good as removed

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not self._stopping.is_set():
            log.warning("mqtt.disconnected reason=%s", reason)
        self._call(self._set_connected, False)

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        if not self._go.is_set():  # an alarm is being stored: leave it the CPU (and the GIL)
            self._go.wait(HOLD_MAX_S)
        if message.qos > 0:  # cheap here on the network thread; from the loop thread it costs a wake-up
            client.ack(message.mid, message.qos)
        if self._channels is not None and message.topic.rpartition("/")[2] not in self._channels:
            return  # an alarm channel through a device filter: the alarm lane has its own copy
        if self._owns is not None and not self._owns(message.topic):  # another worker's device
            if self._on_skipped is not None:
                self._on_skipped()
            return
        now_ms = self._clock_ms()
        if self._buffer and self._shedding(now_ms, message.topic.rpartition("/")[2]):
            return
        raw = RawMessage(
            topic=message.topic,
            payload=bytes(message.payload),
            received_ms=now_ms,
            received_mono=time.perf_counter(),
            mid=message.mid,
            qos=message.qos,
            acked=message.qos > 0,
        )
        self._buffer.append(raw)
        if not self._signalled:  # the loop is (about to be) waiting: wake it once
            self._signalled = True
            self._call(self._ready.set)

    def _shedding(self, now_ms: int, channel: str) -> bool:
        """Drop this message (counted) because the gateway is behind?"""
        buffer = self._buffer
        try:
            waited_ms = now_ms - buffer[0].received_ms
        except IndexError:  # emptied in between
            return False
        depth = len(buffer)
        everything = depth >= self._shed_all_from or waited_ms >= self._shed_all_lag_ms
        bulk = channel in BULK_CHANNELS and (
            depth >= self._shed_bulk_from or waited_ms >= self._shed_bulk_lag_ms
        )
        if not (everything or bulk):
            return False
        self.shed[channel] = self.shed.get(channel, 0) + 1
        if self._on_shed is not None:
            self._on_shed(channel)
        return True

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
    def _set_connected(self, up: bool, subscribing: Sequence[list[str]] = ()) -> None:
        if up:
            self.connected.set()
            self.book.reconnected()
            for group in subscribing:  # sent by on_connect; the keeper goes on once they are answered
                self.book.sending_subscribe(group)
            self._connect_pending = len(subscribing)
            if not subscribing:
                self._book_changed.set()
        else:
            self.connected.clear()
            self.settled.clear()
            self._connect_pending = 0
            for waiting in self._acks.values():
                if not waiting.done():
                    waiting.set_result(False)
            self._acks.clear()
        if self._on_connected is not None:
            self._on_connected(up)

    def _connect_acked(self, group: list[str], ok: bool) -> None:
        if ok:
            self.book.subscribed(group)
        self._connect_pending -= 1
        if self._connect_pending <= 0:
            self._book_changed.set()

    def _acked(self, mid: int, ok: bool) -> None:
        waiting = self._acks.pop(mid, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(ok)

    def want_devices(self, devices: frozenset[str] | None) -> None:
        """Subscribe to these devices by name (None: the site-wide filters); applied in the background
        (:meth:`run`), subscribe first, and again after every reconnect."""
        if devices == self.book.devices:
            return
        self.book.devices = devices
        self.settled.clear()
        self._book_changed.set()

    async def _keep_subscriptions(self) -> None:
        book = self.book
        while True:
            await self._book_changed.wait()
            self._book_changed.clear()
            if not self.connected.is_set() or self._connect_pending > 0:
                continue  # the next connect, or the last answer to its SUBSCRIBEs, asks again
            adding, removing = book.to_subscribe(), []
            settled = await self._send(adding, subscribe=True)
            if settled and not book.to_subscribe():  # only once every wanted filter is confirmed
                removing = book.to_unsubscribe()  # may a filter go: a device is never uncovered
                settled = await self._send(removing, subscribe=False)
            if settled and book.settled():
                if adding or removing:
                    log.info(
                        "mqtt.subscriptions devices=%s subscribed=%d unsubscribed=%d",
                        "site" if book.devices is None else len(book.devices),
                        len(adding),
                        len(removing),
                    )
                self.subscribed.set()
                self.settled.set()
                if self._on_devices is not None:
                    self._on_devices(len(book.devices or ()))
            elif self.connected.is_set() and not self._book_changed.is_set():
                await asyncio.sleep(RETRY_SUBSCRIBE_S)  # refused or unanswered: try again
                self._book_changed.set()

    async def _send(self, filters: list[str], *, subscribe: bool) -> bool:
        """SUBSCRIBE (or UNSUBSCRIBE) ``filters`` in packets; True once the broker confirmed them all."""
        client = self._client
        if client is None:
            return False
        for group in packets(filters):
            if subscribe:
                self.book.sending_subscribe(group)
                rc, mid = self._subscribe(client, group)
            else:
                rc, mid = client.unsubscribe(group)
            if rc != mqtt.MQTT_ERR_SUCCESS or mid is None:
                return False
            waiting = self._acks[mid] = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(self.subscribe_timeout_s):
                    if not await waiting:
                        return False
            except TimeoutError:
                log.warning("mqtt.no_suback subscribe=%s filters=%d", subscribe, len(group))
                return False
            finally:
                self._acks.pop(mid, None)
            if subscribe:
                self.book.subscribed(group)
            else:
                self.book.unsubscribed(group)
        return True

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
        client.on_unsubscribe = self._on_unsubscribe
        client.reconnect_delay_set(1, 30)
        client.max_inflight_messages_set(RECEIVE_MAXIMUM)
        client.max_queued_messages_set(0)
        if self.endpoint.username is not None:
            client.username_pw_set(self.endpoint.username, self.endpoint.password)
        if self.endpoint.tls:
            client.tls_set_context(self.endpoint.tls_context())
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
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._keep_subscriptions())
                await self._run_client()
        finally:
            self._stopping.set()
            if self._client is not None:
                await asyncio.to_thread(self._shutdown_client, self._client)

    async def _run_client(self) -> None:
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

    def hold(self) -> None:
        """Pause reading telemetry (at most ``HOLD_MAX_S`` per message) until :meth:`resume`: while an
        alarm is stored, this thread would otherwise take the GIL from the database thread and the loop
        at every switch interval (measured: outbox commits 4 → 25 ms under a 2× flood)."""
        self._go.clear()

    def resume(self) -> None:
        self._go.set()

    def qsize(self) -> int:
        return len(self._buffer)

    def lag_ms(self, now_ms: int) -> int:
        """How long the oldest message still waiting has waited (0 when nothing waits)."""
        buffer = self._buffer
        try:
            return max(0, now_ms - buffer[0].received_ms)
        except IndexError:
            return 0

    def shed_total(self) -> int:
        return sum(self.shed.values())
