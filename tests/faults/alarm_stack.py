"""A whole alarm path on real parts for the fault tests: Mosquitto, gateways, the cloud on uvicorn.

Imported by name from the fault tests (like ``edge_testkit``): the cloud serves the demo district, whose
devices are assigned to :data:`EDGE_A`; :data:`EDGE_B` is a second gateway with its own token and no
devices. Devices publish raw JSON (so a test can send what old or broken firmware sends).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import orjson
import pytest

from broker.runner import MosquittoBroker
from contracts import downlink_filter, uplink_topic
from edge.gateway import Gateway
from edge.settings import EdgeSettings
from tests.e2e.e2e_live import LiveIncidents
from tests.serving import serving_cloud

EDGE_A = "edge-xiqing-01"  # the demo district's gateway
EDGE_B = "edge-b"
TOKEN_A = "edge-a-token-0123456789abcdef"
TOKEN_B = "edge-b-token-0123456789abcdef"
PASSWORD = "s3cure-operator-pw"
NOW_MS = 1_764_000_000_000
WAIT_S = 15.0


def uplink(device_id: str, kind: str, seq: int, ts: int, **fields: Any) -> bytes:
    """A device message as JSON; ``boot`` only when given (v1 firmware sends none)."""
    body: dict[str, Any] = {"v": 2 if "boot" in fields else 1, "type": kind, "device_id": device_id}
    body.update(seq=seq, ts=ts, **fields)
    return orjson.dumps(body)


@asynccontextmanager
async def real_cloud(tmp_path: Path) -> AsyncIterator[str]:
    """The district center (``cloud.main.serve``, uvicorn) with the demo data, on a free port."""
    from cloud.settings import CloudSettings

    settings = CloudSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}",
        edge_tokens={EDGE_A: TOKEN_A, EDGE_B: TOKEN_B},
        operator_password=PASSWORD,
        session_secret="test-session-secret-0123456789",
        demo_data=True,
        sse_keepalive_s=15.0,
    )
    async with serving_cloud(settings) as url:
        yield url


@asynccontextmanager
async def running_gateway(
    broker: MosquittoBroker, cloud_url: str, data_dir: Path, *, edge_id: str = EDGE_A, **overrides: Any
) -> AsyncIterator[Gateway]:
    settings = EdgeSettings(
        edge_id=edge_id,
        mqtt_url=broker.url,
        cloud_url=cloud_url,
        cloud_token=TOKEN_A if edge_id == EDGE_A else TOKEN_B,
        data_dir=data_dir,
        backoff_initial_s=0.05,
        backoff_max_s=0.5,
        **overrides,
    )
    gateway = Gateway(settings)
    task = asyncio.create_task(gateway.run())
    try:
        started = asyncio.create_task(gateway.started.wait())
        done, _ = await asyncio.wait({started, task}, timeout=WAIT_S, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
        assert started in done, "gateway did not start"
        yield gateway
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, WAIT_S)


class Devices:
    """Devices on one real MQTT connection; keeps every downlink they received."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.downlinks: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()

    async def listen(self, device_id: str) -> None:
        await self.client.subscribe(downlink_filter(device_id), qos=1)

    async def publish(self, device_id: str, channel: str, payload: bytes) -> None:
        await self.client.publish(uplink_topic(device_id, channel), payload, qos=1)

    async def collect(self) -> None:
        async for message in self.client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else bytes(message.payload)  # type: ignore[arg-type]
            async with self._changed:
                self.downlinks.append(orjson.loads(payload))
                self._changed.notify_all()

    def acks_for(self, device_id: str, seq: int) -> list[dict[str, Any]]:
        return [
            d
            for d in self.downlinks
            if d.get("type") == "alarm_received" and d["device_id"] == device_id and d["ref_seq"] == seq
        ]

    async def wait_ack(self, device_id: str, seq: int, count: int = 1) -> dict[str, Any]:
        """The ``count``-th ``alarm_received`` for (device, seq); fails after ``WAIT_S``."""
        try:
            async with asyncio.timeout(WAIT_S), self._changed:
                await self._changed.wait_for(lambda: len(self.acks_for(device_id, seq)) >= count)
        except TimeoutError:
            pytest.fail(f"no alarm_received #{count} for {device_id} seq {seq} within {WAIT_S} s")
        return self.acks_for(device_id, seq)[count - 1]


@asynccontextmanager
async def devices(broker: MosquittoBroker) -> AsyncIterator[Devices]:
    async with aiomqtt.Client(broker.host, broker.port, identifier="fault-devices") as client:
        link = Devices(client)
        task = asyncio.create_task(link.collect())
        try:
            yield link
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


class Console:
    """What an operator sees: the live stream (as the console follows it) and the incident API."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.live = LiveIncidents(client)
        self.by_id = self.live.by_id
        self.connected = self.live.connected

    async def follow(self) -> None:
        await self.live.follow()

    async def wait_for(self, what: str, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first incident on the live stream for which ``predicate`` holds."""
        return await self.live.first(what, predicate, WAIT_S)

    async def incidents(self, status: str = "open") -> list[dict[str, Any]]:
        answer = await self.client.get("/api/v1/incidents", params={"status": status})
        answer.raise_for_status()
        items: list[dict[str, Any]] = answer.json()
        return items


@asynccontextmanager
async def console(cloud_url: str) -> AsyncIterator[Console]:
    async with httpx.AsyncClient(base_url=cloud_url, timeout=WAIT_S) as client:
        login = await client.post("/api/v1/auth/login", json={"username": "operator", "password": PASSWORD})
        login.raise_for_status()
        view = Console(client)
        task = asyncio.create_task(view.follow())
        try:
            await asyncio.wait_for(view.connected.wait(), WAIT_S)
            yield view
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
