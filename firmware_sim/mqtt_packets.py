"""MQTT 3.1.1 packets the simulated firmware needs (what a cheap device's stack implements), pure.

CONNECT (clean session off, will, username), PUBLISH QoS 0/1 (+DUP), PUBACK, SUBSCRIBE, PINGREQ,
DISCONNECT; and a streaming reader for CONNACK, PUBLISH, PUBACK, SUBACK, PINGRESP.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14
MAX_REMAINING = 268_435_455
PINGREQ_PACKET = bytes((PINGREQ << 4, 0))
DISCONNECT_PACKET = bytes((DISCONNECT << 4, 0))
DUP_FLAG = 0x08


class ProtocolError(ValueError):
    """The broker sent bytes that are not MQTT 3.1.1."""


def remaining_length(n: int) -> bytes:
    if not 0 <= n <= MAX_REMAINING:
        raise ValueError("packet too large for MQTT")
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack("!H", len(raw)) + raw


def _packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + remaining_length(len(body)) + body


def connect(
    client_id: str,
    *,
    keepalive_s: int,
    clean_session: bool = False,
    username: str | None = None,
    password: str | None = None,
    will: tuple[str, bytes, int, bool] | None = None,
) -> bytes:
    """CONNECT; ``will`` is (topic, payload, qos, retain); a password needs a username."""
    flags = 0x02 if clean_session else 0
    payload = _str(client_id)
    if will is not None:
        topic, message, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += _str(topic) + _str(message)
    if username is not None:
        flags |= 0x80
        payload += _str(username)
        if password is not None:
            flags |= 0x40
            payload += _str(password)
    header = _str("MQTT") + bytes((4, flags)) + struct.pack("!H", keepalive_s)
    return _packet(CONNECT << 4, header + payload)


def publish(topic: str, payload: bytes, *, qos: int, retain: bool = False, packet_id: int = 0) -> bytes:
    first = (PUBLISH << 4) | (qos << 1) | (1 if retain else 0)
    body = _str(topic) + (struct.pack("!H", packet_id) if qos else b"") + payload
    return _packet(first, body)


def as_duplicate(packet: bytes) -> bytes:
    """The same PUBLISH with the DUP flag set, for a retransmission."""
    return bytes((packet[0] | DUP_FLAG,)) + packet[1:]


def puback(packet_id: int) -> bytes:
    return bytes((PUBACK << 4, 2)) + struct.pack("!H", packet_id)


def subscribe(packet_id: int, topic_filter: str, qos: int = 1) -> bytes:
    return _packet((SUBSCRIBE << 4) | 0x02, struct.pack("!H", packet_id) + _str(topic_filter) + bytes((qos,)))


@dataclass(frozen=True, slots=True)
class Packet:
    kind: int
    flags: int
    body: bytes


@dataclass(frozen=True, slots=True)
class InboundPublish:
    topic: str
    payload: bytes
    qos: int
    packet_id: int


def parse_publish(packet: Packet) -> InboundPublish:
    body = packet.body
    if len(body) < 2:
        raise ProtocolError("short PUBLISH")
    (n,) = struct.unpack_from("!H", body)
    topic = body[2 : 2 + n].decode("utf-8", errors="replace")
    qos = (packet.flags >> 1) & 0x03
    at = 2 + n
    packet_id = 0
    if qos:
        (packet_id,) = struct.unpack_from("!H", body, at)
        at += 2
    return InboundPublish(topic, body[at:], qos, packet_id)


class PacketReader:
    """Splits a TCP byte stream into packets."""

    def __init__(self, max_packet: int = 1 << 20) -> None:
        self._buf = bytearray()
        self._max = max_packet

    def feed(self, data: bytes) -> Iterator[Packet]:
        self._buf += data
        buf = self._buf
        while len(buf) >= 2:
            length, multiplier, at = 0, 1, 1
            while True:
                if at >= len(buf):
                    return
                byte = buf[at]
                length += (byte & 0x7F) * multiplier
                multiplier *= 128
                at += 1
                if not byte & 0x80:
                    break
                if at > 4:
                    raise ProtocolError("bad remaining length")
            if length > self._max:
                raise ProtocolError("packet larger than allowed")
            if len(buf) < at + length:
                return
            first = buf[0]
            body = bytes(buf[at : at + length])
            del buf[: at + length]
            yield Packet(first >> 4, first & 0x0F, body)
