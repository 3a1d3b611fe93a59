"""The MQTT session: an unacknowledged QoS 1 PUBLISH is re-sent with DUP after the connection drops.

A stand-in broker (raw TCP) is used here because a real Mosquitto always acknowledges: this one drops
the first connection right after the SOS arrives, without PUBACK, and checks the retransmission.
"""

from __future__ import annotations

import asyncio

from broker.runner import free_port
from contracts import SosPress, encode
from firmware_sim import mqtt_packets as mp
from firmware_sim.faults import WireMessage
from firmware_sim.transport import FleetTransport


class StandInBroker:
    def __init__(self) -> None:
        self.publishes: list[tuple[int, mp.InboundPublish]] = []  # (connection number, publish)
        self.connects: list[bytes] = []
        self.got_retransmit = asyncio.Event()
        self.got_first_sos = asyncio.Event()
        self._n = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._n += 1
        n = self._n
        parser = mp.PacketReader()
        try:
            while data := await reader.read(65536):
                for packet in parser.feed(data):
                    if packet.kind == mp.CONNECT:
                        self.connects.append(packet.body)
                        writer.write(bytes((mp.CONNACK << 4, 2, 1 if n > 1 else 0, 0)))
                    elif packet.kind == mp.PUBLISH:
                        inbound = mp.parse_publish(packet)
                        self.publishes.append((n, inbound))
                        if inbound.topic.endswith("/sos"):
                            if n == 1:
                                self.got_first_sos.set()
                                writer.transport.abort()  # die before acknowledging
                                return
                            if packet.flags & mp.DUP_FLAG:
                                self.got_retransmit.set()
                        if inbound.qos:
                            writer.write(mp.puback(inbound.packet_id))
                    elif packet.kind == mp.SUBSCRIBE:
                        writer.write(bytes((mp.SUBACK << 4, 3)) + packet.body[:2] + b"\x01")
        finally:
            writer.close()


async def test_unacknowledged_sos_is_resent_with_dup_on_reconnect() -> None:
    stand_in = StandInBroker()
    port = free_port()
    server = await asyncio.start_server(stand_in.handle, "127.0.0.1", port)
    transport = FleetTransport(
        f"mqtt://127.0.0.1:{port}", ["card-0001"], on_downlink=lambda *_: None, presence_ts=lambda _: None
    )
    sos = WireMessage(
        "anxin/v1/up/card-0001/sos", encode(SosPress(device_id="card-0001", seq=3, ts=10**12)), 1
    )
    async with server, asyncio.TaskGroup() as tg:
        task = tg.create_task(transport.run())
        await asyncio.wait_for(transport.all_connected.wait(), 5)
        transport.publish(0, sos)
        await asyncio.wait_for(stand_in.got_first_sos.wait(), 5)
        await asyncio.wait_for(stand_in.got_retransmit.wait(), 5)
        task.cancel()
    sos_sends = [(n, p) for n, p in stand_in.publishes if p.topic.endswith("/sos")]
    assert [n for n, _ in sos_sends] == [1, 2]
    assert sos_sends[0][1].packet_id == sos_sends[1][1].packet_id
    assert sos_sends[0][1].payload == sos_sends[1][1].payload == sos.payload
    assert not transport.links[0].pending
    # persistent session, a last will, and the device id as username (for the broker's ACL)
    flags = stand_in.connects[0][7]
    assert not flags & 0x02 and flags & 0x04 and flags & 0x20 and flags & 0x80


def test_packet_codec_roundtrip() -> None:
    packet = mp.publish("a/b", b"x" * 300, qos=1, packet_id=513)
    parsed = list(mp.PacketReader().feed(packet[:3])) + list(mp.PacketReader().feed(packet))
    assert len(parsed) == 1
    inbound = mp.parse_publish(parsed[0])
    assert (inbound.topic, inbound.payload, inbound.qos, inbound.packet_id) == ("a/b", b"x" * 300, 1, 513)
    assert mp.as_duplicate(packet)[0] & mp.DUP_FLAG
    assert mp.remaining_length(321) == bytes((0xC1, 0x02))
