"""The gateway against the real district center (``cloud.app``): registry, intake, operator ack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from edge_testkit import BASE_TS, DeviceLink, running

from broker.runner import MosquittoBroker
from contracts import OperatorAcknowledged, SosPress, Status, decode_downlink, encode
from edge.gateway import Gateway
from edge.settings import EdgeSettings
from tests.serving import serving_cloud

cloud_settings = pytest.importorskip("cloud.settings")

EDGE_ID = "edge-xiqing-01"  # the demo district's edge
TOKEN = "edge-token-0123456789abcdef"
PASSWORD = "s3cure-operator-pw"


@pytest.fixture
async def real_cloud(tmp_path: Path) -> AsyncIterator[str]:
    settings = cloud_settings.CloudSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}",
        edge_tokens={EDGE_ID: TOKEN},
        operator_password=PASSWORD,
        session_secret="test-session-secret-0123456789",
        demo_data=True,
        sse_keepalive_s=15.0,
    )
    async with serving_cloud(settings) as url:
        yield url


async def test_sos_reaches_the_real_cloud_and_the_operator_ack_comes_back(
    real_cloud: str, mosquitto: MosquittoBroker, tmp_path: Path, device: DeviceLink
) -> None:
    settings = EdgeSettings(
        edge_id=EDGE_ID,
        mqtt_url=mosquitto.url,
        cloud_url=real_cloud,
        cloud_token=TOKEN,
        data_dir=tmp_path / "edge",
        backoff_initial_s=0.05,
        backoff_max_s=0.5,
    )
    async with running(Gateway(settings)) as gateway:
        assert gateway.registry.loaded and gateway.registry.knows("card-0001")
        await device.listen("card-0001")
        await device.publish("card-0001", "sos", encode(SosPress(device_id="card-0001", seq=1, ts=BASE_TS)))
        await device.wait_downlinks(1)  # AlarmReceived from the gateway
        await gateway.wait_delivered("card-0001:1")
        stranger = encode(Status(device_id="stranger-1", seq=1, ts=BASE_TS, battery_pct=90))
        await device.publish("stranger-1", "status", stranger)

        async with httpx.AsyncClient(base_url=real_cloud, timeout=10) as operator:
            login = {"username": "operator", "password": PASSWORD}
            (await operator.post("/api/v1/auth/login", json=login)).raise_for_status()
            incidents: list[dict[str, Any]] = (await operator.get("/api/v1/incidents")).json()
            [incident] = [i for i in incidents if i["origin_key"] == "card-0001:1"]
            answer = await operator.post(
                f"/api/v1/incidents/{incident['id']}/acknowledge", json={"eta_min": 8}
            )
            answer.raise_for_status()

        downlinks = await device.wait_downlinks(2)
        ack = decode_downlink(downlinks[1][1])
        assert isinstance(ack, OperatorAcknowledged)
        assert (ack.incident_key, ack.eta_min) == ("card-0001:1", 8)
        await gateway.wait_handled(2)
        assert gateway.rejected_count("unknown_device") == 1
