"""Helpers of the edge tests (imported by name: a ``conftest`` import would be ambiguous across folders)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiomqtt
import pytest

from contracts import DeviceKind, EdgeEvent, downlink_filter, uplink_topic
from contracts.identity import event_key
from contracts.intake import EventKind, Severity
from edge.delivery.backoff import Backoff
from edge.delivery.claims import KeyClaims
from edge.delivery.cloud_client import CloudClient
from edge.delivery.forwarder import Forwarder
from edge.delivery.outbox import Outbox
from edge.gateway import Gateway
from edge.metrics import EdgeMetrics

EDGE_ID = "edge-test"
BASE_TS = 1_764_000_000_000
DEVICES = ["card-1", "card-2", "wear-1", "watch-1"]


def sos_event(edge_id: str, device_id: str, seq: int, *, now_ms: int) -> EdgeEvent:
    """An SOS as the gateway stores it: the derived key, pressed at ``now_ms + seq``, received 5 ms later."""
    return EdgeEvent(
        key=event_key(device_id, seq),
        edge_id=edge_id,
        device_id=device_id,
        seq=seq,
        kind=EventKind.SOS,
        severity=Severity.P1,
        device_ts=now_ms + seq,
        edge_ts=now_ms + seq + 5,
    )


def quick_forwarder(
    outbox: Outbox, cloud: CloudClient, *, now_ms: int, claims: KeyClaims | None = None
) -> Forwarder:
    """A forwarder with test-sized backoffs (50–200 ms), batches of 32, 4 rounds at once, a fixed clock."""
    return Forwarder(
        outbox=outbox,
        cloud=cloud,
        metrics=EdgeMetrics(),
        clock_ms=lambda: now_ms,
        backoff=Backoff(0.05, 0.2),
        row_backoff=Backoff(0.05, 0.2),
        batch=32,
        concurrency=4,
        claims=claims,
    )


def registry_of(*device_ids: str) -> list[dict[str, Any]]:
    kinds = {"card": DeviceKind.SOS_CARD, "wear": DeviceKind.WEARABLE, "watch": DeviceKind.CHILD_MONITOR}
    return [
        {"device_id": d, "kind": kinds[d.split("-")[0]].value, "subject_id": f"p-{i}"}
        for i, d in enumerate(device_ids)
    ]


@asynccontextmanager
async def running(gateway: Gateway) -> AsyncIterator[Gateway]:
    task = asyncio.create_task(gateway.run())
    try:
        started = asyncio.create_task(gateway.started.wait())
        done, _ = await asyncio.wait({started, task}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # raises what made the gateway stop
        assert started in done, "gateway did not start within 15 s"
        yield gateway
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)


class DeviceLink:
    """A device (or several) on a real MQTT connection; collects its downlinks."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.downlinks: list[tuple[str, bytes]] = []
        self.changed = asyncio.Condition()
        self.on_downlink: Callable[[str, bytes], Awaitable[None]] | None = None

    async def publish(self, device_id: str, channel: str, payload: bytes, qos: int = 1) -> None:
        await self.client.publish(uplink_topic(device_id, channel), payload, qos=qos)

    async def publish_raw(self, topic: str, payload: bytes, qos: int = 1) -> None:
        await self.client.publish(topic, payload, qos=qos)

    async def listen(self, device_id: str) -> None:
        await self.client.subscribe(downlink_filter(device_id), qos=1)

    async def _collect(self) -> None:
        async for message in self.client.messages:
            payload = bytes(message.payload) if not isinstance(message.payload, bytes) else message.payload
            if self.on_downlink is not None:
                await self.on_downlink(str(message.topic), payload)
            async with self.changed:
                self.downlinks.append((str(message.topic), payload))
                self.changed.notify_all()

    async def wait_downlinks(self, count: int, within_s: float = 10.0) -> list[tuple[str, bytes]]:
        async with asyncio.timeout(within_s), self.changed:
            await self.changed.wait_for(lambda: len(self.downlinks) >= count)
        return list(self.downlinks)
