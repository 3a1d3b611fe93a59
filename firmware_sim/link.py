"""One device's MQTT session over one TCP connection: an ``asyncio.Protocol``, no task per device.

The session outlives connections (clean session off): QoS 1 messages not yet acknowledged are re-sent
with the DUP flag after a reconnect, and QoS 1 messages produced while offline wait in ``queue`` — an
SOS pressed in a dead spot goes out when the device is back. QoS 0 telemetry is dropped while offline
(as cheap firmware does) and counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from ssl import SSLContext

from firmware_sim import mqtt_packets as mp
from firmware_sim.faults import WireMessage

log = logging.getLogger(__name__)

MAX_INFLIGHT = 100  # QoS 1 messages awaiting PUBACK per device (Mosquitto allows 1000)
MAX_QUEUE = 10_000  # QoS 1 messages kept while offline
WRITE_BUFFER_LIMIT = 256 * 1024  # beyond this QoS 0 is shed rather than buffered


class LinkError(ConnectionError):
    """The broker refused or dropped the connection."""


@dataclass
class LinkStats:
    """Counters shared by every link of one process (read by the progress line and the benchmark)."""

    connected: int = 0
    connects: int = 0
    reconnects: int = 0
    sent: int = 0
    sent_bytes: int = 0
    acked: int = 0
    retransmits: int = 0
    dropped_offline: int = 0
    dropped_backpressure: int = 0
    downlinks: int = 0
    errors: int = 0
    lost: int = 0


class DeviceLink(asyncio.Protocol):
    def __init__(
        self,
        client_id: str,
        *,
        stats: LinkStats,
        will: tuple[str, bytes, int, bool],
        subscription: str,
        on_message: Callable[[str, bytes], None],
        keepalive_s: int = 60,
        acked: asyncio.Event | None = None,
        on_lost: Callable[[], None] | None = None,
        password: str | None = None,
    ) -> None:
        self.client_id = client_id
        self._password = password
        self._acked = acked
        self._on_lost = on_lost
        self.stats = stats
        self.will = will
        self.subscription = subscription
        self.on_message = on_message
        self.keepalive_s = keepalive_s
        self.connected = False
        self.session_present = False
        self.pending: dict[int, tuple[bytes, float]] = {}  # packet id -> (PUBLISH, sent at)
        self.queue: deque[WireMessage] = deque()
        self.last_sent = 0.0
        self.last_heard = 0.0
        self._transport: asyncio.Transport | None = None
        self._reader = mp.PacketReader()
        self._next_id = 0
        self._connack: asyncio.Future[tuple[bool, int]] | None = None
        self.closed = asyncio.Event()
        self.closed.set()

    # -- connection -----------------------------------------------------------------------------
    async def connect(
        self, host: str, port: int, within_s: float, online: WireMessage, ssl: SSLContext | None = None
    ) -> None:
        """Open TCP (TLS with ``ssl``), CONNECT (username = device id), wait for CONNACK, subscribe,
        announce presence, re-send the session."""
        loop = asyncio.get_running_loop()
        self._connack = loop.create_future()
        try:
            async with asyncio.timeout(within_s):
                await loop.create_connection(lambda: self, host, port, ssl=ssl)
                self._write(
                    mp.connect(
                        self.client_id,
                        keepalive_s=self.keepalive_s,
                        username=self.client_id,
                        password=self._password,
                        will=self.will,
                    )
                )
                self.session_present, code = await self._connack
        except (OSError, TimeoutError, mp.ProtocolError) as exc:
            self.abort()
            raise LinkError(f"connect failed: {type(exc).__name__}") from exc
        if code != 0:
            self.abort()
            raise LinkError(f"broker refused the connection (CONNACK {code})")
        self.connected = True
        self.stats.connected += 1
        self.stats.connects += 1
        self._write(mp.subscribe(self._packet_id(), self.subscription, 1))
        for packet_id, (packet, _) in sorted(self.pending.items()):  # the session's unacknowledged QoS 1
            self._resend(packet_id, packet)
        self.publish(online)
        self._drain_queue()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._reader = mp.PacketReader()
        self.closed.clear()
        self.last_heard = time.monotonic()

    def connection_lost(self, exc: Exception | None) -> None:
        was_connected = self.connected
        self.connected = False
        self._transport = None
        if self._connack is not None and not self._connack.done():
            self._connack.set_exception(ConnectionResetError("closed before CONNACK"))
        self.closed.set()
        if was_connected:
            self.stats.connected -= 1
            self.stats.lost += 1
            if self._on_lost is not None:
                self._on_lost()

    def abort(self) -> None:
        """Drop the TCP connection without DISCONNECT: the broker publishes the last will."""
        if self._transport is not None:
            self._transport.abort()

    def disconnect(self) -> None:
        """A clean goodbye (DISCONNECT): the broker discards the will."""
        if self._transport is not None and self.connected:
            self._transport.write(mp.DISCONNECT_PACKET)
            self._transport.close()

    # -- publishing ------------------------------------------------------------------------------
    def publish(self, msg: WireMessage) -> bool:
        """Send now if possible; QoS 1 waits in the queue otherwise. False when the message was dropped."""
        if msg.qos == 0:
            if not self.connected:
                self.stats.dropped_offline += 1
                return False
            assert self._transport is not None
            if self._transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
                self.stats.dropped_backpressure += 1
                return False
            self._send(mp.publish(msg.topic, msg.payload, qos=0, retain=msg.retain), len(msg.payload))
            return True
        if not self.connected or len(self.pending) >= MAX_INFLIGHT or self.queue:
            if len(self.queue) >= MAX_QUEUE:
                self.queue.popleft()
                self.stats.dropped_offline += 1
            self.queue.append(msg)
            return True
        self._send_qos1(msg)
        return True

    def _send_qos1(self, msg: WireMessage) -> None:
        packet_id = self._packet_id()
        packet = mp.publish(msg.topic, msg.payload, qos=1, retain=msg.retain, packet_id=packet_id)
        self.pending[packet_id] = (packet, time.monotonic())
        self._send(packet, len(msg.payload))

    def _drain_queue(self) -> None:
        """Send what waited (in order) while there is room in flight."""
        while self.queue and self.connected and len(self.pending) < MAX_INFLIGHT:
            self._send_qos1(self.queue.popleft())

    def retransmit_older_than(self, age_s: float, now: float) -> None:
        """Re-send (DUP) QoS 1 messages the broker has not acknowledged within ``age_s``."""
        if not self.connected:
            return
        for packet_id, (packet, sent_at) in list(self.pending.items()):
            if now - sent_at > age_s:
                self._resend(packet_id, packet)

    def _resend(self, packet_id: int, packet: bytes) -> None:
        self.stats.retransmits += 1
        self.pending[packet_id] = (packet, time.monotonic())
        self._write(mp.as_duplicate(packet))

    def ping(self) -> None:
        self._write(mp.PINGREQ_PACKET)

    def _packet_id(self) -> int:
        for _ in range(65_535):
            self._next_id = self._next_id % 65_535 + 1
            if self._next_id not in self.pending:
                return self._next_id
        raise LinkError("no free packet id")

    def _send(self, packet: bytes, payload_bytes: int) -> None:
        self._write(packet)
        self.stats.sent += 1
        self.stats.sent_bytes += payload_bytes

    def _write(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.write(data)
            self.last_sent = time.monotonic()

    # -- receiving -------------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        self.last_heard = time.monotonic()
        try:
            for packet in self._reader.feed(data):
                self._handle(packet)
        except (mp.ProtocolError, ValueError) as exc:
            self.stats.errors += 1
            log.warning("link.protocol_error device=%s error=%s", self.client_id, type(exc).__name__)
            self.abort()

    def _handle(self, packet: mp.Packet) -> None:
        if packet.kind == mp.CONNACK:
            if len(packet.body) < 2:
                raise mp.ProtocolError("short CONNACK")
            if self._connack is not None and not self._connack.done():
                self._connack.set_result((bool(packet.body[0] & 1), packet.body[1]))
        elif packet.kind == mp.PUBACK:
            packet_id = int.from_bytes(packet.body[:2], "big")
            if self.pending.pop(packet_id, None) is not None:
                self.stats.acked += 1
                if self._acked is not None:
                    self._acked.set()
            self._drain_queue()
        elif packet.kind == mp.PUBLISH:
            inbound = mp.parse_publish(packet)
            if inbound.qos:
                self._write(mp.puback(inbound.packet_id))
            self.stats.downlinks += 1
            try:
                self.on_message(inbound.topic, inbound.payload)
            except Exception:  # one failing handler must not kill the session
                self.stats.errors += 1
                log.exception("link.handler_failed device=%s", self.client_id)
