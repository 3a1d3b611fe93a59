"""The ladder's load generator: many device connections, as light on the CPU as Python allows.

The gateway ladder shares two cores with the broker and the 1,000 publishing connections, so the load
generator itself must cost little. Each device is one TCP connection speaking MQTT 3.1.1 through the
simulator's own packet encoder (:mod:`firmware_sim.mqtt_packets`): every PUBLISH (QoS 1, its packet id
included) is encoded before a step's clock starts, and offering a message is one ``send``; PUBACKs are
read in bulk and only counted. (The first ladder drove 1,000 paho clients from one selector loop; paho
spends tens of µs of Python per publish.)

Payloads: ``vitals`` as the contract encodes them; ``accel`` as the simulator's wearables send them
(1 s batches at 50 Hz from :class:`firmware_sim.signals.accel.AccelSynth`, encoded by
:func:`firmware_sim.models.wearable.accel_payload`), each device in its own activity, with contiguous
timestamps so the gateway's fall detector sees a continuous stream.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from contracts import Vitals, encode, uplink_topic
from firmware_sim import mqtt_packets
from firmware_sim.models.wearable import accel_payload
from firmware_sim.signals.accel import RATE_HZ, AccelSynth, Activity

TS = 1_764_000_000_000
KINDS = ("vitals", "accel")
POOL = 6  # distinct acceleration batches per device, replayed in turn (seq and ts move on)
ACTIVITIES = (Activity.SIT, Activity.WALK, Activity.CHORES, Activity.SIT, Activity.STAIRS, Activity.SLEEP)
PUBACK_BYTES = 4  # an MQTT 3.1.1 PUBACK is 4 bytes (and so is the CONNACK)


def device_name(index: int) -> str:
    return f"ladder-{index:05d}"


class Payloads:
    """Uplink payloads of one kind for ``count`` devices: ``payload(index, seq)``."""

    def __init__(self, kind: str, count: int, *, seed: int = 12) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        self.kind = kind
        self.channel = kind
        self._pools: list[list[np.ndarray]] = []
        if kind == "accel":
            rng = np.random.default_rng(seed)
            for i in range(count):
                synth, activity = AccelSynth(rng), ACTIVITIES[i % len(ACTIVITIES)]
                self._pools.append([np.round(synth.batch(activity, RATE_HZ), 3) for _ in range(POOL)])

    def payload(self, index: int, seq: int) -> bytes:
        device = device_name(index)
        ts = TS + seq * 1000  # one message a second per device, in device time
        if self.kind == "accel":
            pool = self._pools[index]
            return accel_payload(device, boot=0, seq=seq, ts=ts, samples=pool[seq % len(pool)])
        return encode(Vitals(device_id=device, seq=seq, ts=ts, hr_bpm=60 + seq % 30, spo2_pct=97))


@dataclass
class Fleet:
    """``count`` device connections (MQTT 3.1.1, clean session) on one selector, no thread per device."""

    host: str
    port: int
    count: int
    sent: dict[str, int] = field(default_factory=dict)  # per kind: uplinks published so far
    acked: int = 0  # PUBACKs received (approximate: bytes read / 4)

    def __post_init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.socks: list[socket.socket] = []
        self._backlog: dict[int, bytearray] = {}  # connection -> bytes its socket did not take yet
        self._read = 0
        deadline = time.monotonic() + 60
        for i in range(self.count):
            sock = socket.create_connection((self.host, self.port), timeout=30)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(mqtt_packets.connect(device_name(i), keepalive_s=900, clean_session=True))
            self.socks.append(sock)
        for index, sock in enumerate(self.socks):  # every CONNACK (4 bytes), then non-blocking
            got = b""
            while len(got) < PUBACK_BYTES:
                chunk = sock.recv(PUBACK_BYTES - len(got))
                if not chunk or time.monotonic() > deadline:
                    raise RuntimeError("the fleet did not connect within 60 s")
                got += chunk
            if got[0] >> 4 != mqtt_packets.CONNACK or got[3] != 0:
                raise RuntimeError(f"the broker refused a device connection: {got!r}")
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ, index)

    def plan(self, payloads: Payloads, count: int) -> list[tuple[int, bytes]]:
        """The next ``count`` uplinks of ``payloads.kind`` as PUBLISH packets, round robin; each device's
        seq continues where it stopped (its packet id follows from it)."""
        start = self.sent.get(payloads.kind, 0)
        out = []
        for n in range(start, start + count):
            index, seq = n % self.count, n // self.count + 1
            topic = uplink_topic(device_name(index), payloads.channel)
            packet_id = seq % 65_535 + 1
            packet = mqtt_packets.publish(topic, payloads.payload(index, seq), qos=1, packet_id=packet_id)
            out.append((index, packet))
        return out

    def _send(self, index: int, packet: bytes) -> None:
        backlog = self._backlog.get(index)
        if backlog is not None:
            backlog += packet
            return
        try:
            done = self.socks[index].send(packet)
        except BlockingIOError:
            done = 0
        if done < len(packet):
            self._backlog[index] = bytearray(packet[done:])

    def pump(self, timeout: float) -> None:
        """Read (and count) what the broker sent; write what the sockets did not take before."""
        for key, _ in self.selector.select(timeout):
            try:
                data = key.fileobj.recv(1 << 16)  # type: ignore[union-attr]
            except BlockingIOError:
                continue
            self._read += len(data)
        self.acked = self._read // PUBACK_BYTES
        for index in list(self._backlog):
            backlog = self._backlog[index]
            try:
                done = self.socks[index].send(backlog)
            except BlockingIOError:
                continue
            del backlog[:done]
            if not backlog:
                del self._backlog[index]

    def offer(self, payloads: Payloads, rate: float, seconds: float) -> float:
        """Publish at ``rate`` msg/s (QoS 1, round robin) for ``seconds``; the rate achieved. The packets
        are encoded before the clock starts (the publisher shares the machine)."""
        planned = self.plan(payloads, int(rate * seconds))
        send: Callable[[int, bytes], None] = self._send
        started = time.perf_counter()
        sent = 0
        while (elapsed := time.perf_counter() - started) < seconds:
            due = min(int(rate * elapsed), len(planned))
            for index, packet in planned[sent:due]:
                send(index, packet)
            sent = max(sent, due)
            self.pump(0.002)
        while self._backlog and time.perf_counter() - started < seconds + 5:
            self.pump(0.01)  # what the sockets still held counts as offered only once it left
        self.sent[payloads.kind] = self.sent.get(payloads.kind, 0) + sent
        return sent / (time.perf_counter() - started)

    def close(self) -> None:
        for sock in self.socks:
            try:
                sock.setblocking(True)
                sock.sendall(mqtt_packets.DISCONNECT_PACKET)
            except OSError:
                pass
            sock.close()
        self.selector.close()
