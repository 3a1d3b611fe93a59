"""Fixtures of the edge tests: a cloud stand-in on real HTTP, gateways, and MQTT test devices."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from edge_cloud_standin import TOKEN, CloudStandIn
from edge_testkit import DEVICES, EDGE_ID, DeviceLink, registry_of, running

from broker.runner import MosquittoBroker, free_port
from edge.gateway import Gateway
from edge.settings import EdgeSettings
from tests.serving import serving


@pytest.fixture
def cloud_port() -> int:
    return free_port()


@pytest.fixture
def standin() -> CloudStandIn:
    return CloudStandIn(EDGE_ID, registry_of(*DEVICES))


@pytest.fixture
async def cloud(standin: CloudStandIn, cloud_port: int) -> AsyncIterator[CloudStandIn]:
    async with serving(standin.app, port=cloud_port, graceful_s=1):
        yield standin


@pytest.fixture
def make_settings(mosquitto: MosquittoBroker, tmp_path: Path, cloud_port: int) -> Callable[..., EdgeSettings]:
    def make(**overrides: Any) -> EdgeSettings:
        values: dict[str, Any] = {
            "edge_id": EDGE_ID,
            "mqtt_url": mosquitto.url,
            "cloud_url": f"http://127.0.0.1:{cloud_port}",
            "cloud_token": TOKEN,
            "data_dir": tmp_path / "edge",
            "backoff_initial_s": 0.02,
            "backoff_max_s": 0.2,
            "http_timeout_s": 3.0,
        }
        values.update(overrides)
        return EdgeSettings(**values)

    return make


@pytest.fixture
def gateway_factory(make_settings: Callable[..., EdgeSettings]) -> Callable[..., Any]:
    def factory(**overrides: Any) -> Any:
        clock = overrides.pop("clock_ms", None)
        kwargs = {"clock_ms": clock} if clock else {}
        return running(Gateway(make_settings(**overrides), **kwargs))

    return factory


@pytest.fixture
async def device(mosquitto: MosquittoBroker) -> AsyncIterator[DeviceLink]:
    async with aiomqtt.Client(mosquitto.host, mosquitto.port, identifier="test-devices") as client:
        dev = DeviceLink(client)
        task = asyncio.create_task(dev._collect())
        try:
            yield dev
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
