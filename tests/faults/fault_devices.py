"""Test devices for the fault tests: SOS cards on one real MQTT connection that repeat every SOS
(same seq) until the gateway's ``AlarmReceived`` arrives, as the device contract requires."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiomqtt

from contracts import AlarmReceived, SosPress, Status, decode_downlink, downlink_filter, encode, uplink_topic

REPEAT_FIRST_S = 1.0
REPEAT_MAX_S = 4.0


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Cards:
    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.acked: dict[str, set[int]] = {}  # device -> seqs confirmed by AlarmReceived
        self.repeats = 0
        self._changed = asyncio.Condition()

    async def listen(self, *device_ids: str) -> None:
        for device_id in device_ids:
            await self.client.subscribe(downlink_filter(device_id), qos=1)

    async def _collect(self) -> None:
        async for message in self.client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else bytes(message.payload)  # type: ignore[arg-type]
            downlink = decode_downlink(payload)
            if isinstance(downlink, AlarmReceived):
                async with self._changed:
                    self.acked.setdefault(downlink.device_id, set()).add(downlink.ref_seq)
                    self._changed.notify_all()

    def is_acked(self, device_id: str, seq: int) -> bool:
        return seq in self.acked.get(device_id, set())

    async def status(self, device_id: str, seq: int, *, ts: int | None = None) -> None:
        body = Status(device_id=device_id, seq=seq, ts=ts or now_ms(), battery_pct=80)
        await self.client.publish(uplink_topic(device_id, "status"), encode(body), qos=1)

    async def sos(self, device_id: str, seq: int, *, within_s: float = 60.0) -> None:
        """Press SOS and repeat it (bounded backoff) until ``AlarmReceived`` for it arrives."""
        payload = encode(SosPress(device_id=device_id, seq=seq, ts=now_ms()))
        delay = REPEAT_FIRST_S
        async with asyncio.timeout(within_s):
            while True:
                await self.client.publish(uplink_topic(device_id, "sos"), payload, qos=1)
                try:
                    async with asyncio.timeout(delay), self._changed:
                        await self._changed.wait_for(lambda: self.is_acked(device_id, seq))
                    return
                except TimeoutError:
                    self.repeats += 1
                    delay = min(delay * 2, REPEAT_MAX_S)


@asynccontextmanager
async def cards(host: str, port: int, name: str = "fault-cards") -> AsyncIterator[Cards]:
    async with aiomqtt.Client(host, port, identifier=name, keepalive=10) as client:
        devices = Cards(client)
        task = asyncio.create_task(devices._collect())
        try:
            yield devices
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
