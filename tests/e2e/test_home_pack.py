"""The smart service pack end to end: real Mosquitto, the gateway and the real district center.

The demo district gives elders 1–6 a home hub (``hub-0001``…) with the standard sensors and rooms. A
smoke detector fires in home 1, nobody gets up in home 2, home 3's gas detector is stuck, and home 4's hub
publishes for home 5's door: P1 with sensor and room, an inactivity incident explained against the care
plan, one device-health incident, and a refused message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker.runner import MosquittoBroker
from contracts import AlarmReceived, Hazard, decode_downlink, encode
from contracts.home import DoorState, HazardAlarm, MotionCount, PullCordAlarm
from edge.gateway import Gateway
from edge.settings import EdgeSettings
from tests.serving import serving_cloud

cloud_settings = pytest.importorskip("cloud.settings")
aiomqtt = pytest.importorskip("aiomqtt")

EDGE_ID = "edge-xiqing-01"
TOKEN = "edge-token-0123456789abcdef"
PASSWORD = "s3cure-operator-pw"
CST = timezone(timedelta(hours=8))
MORNING = int(datetime(2026, 3, 2, 5, 0, tzinfo=CST).timestamp() * 1000)  # a Monday, 05:00
MIN = 60_000


@pytest.fixture
async def district(tmp_path: Path) -> AsyncIterator[str]:
    settings = cloud_settings.CloudSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}",
        edge_tokens={EDGE_ID: TOKEN},
        operator_password=PASSWORD,
        session_secret="test-session-secret-0123456789",
        demo_data=True,
    )
    async with serving_cloud(settings) as url:
        yield url


@pytest.fixture
async def gateway(district: str, mosquitto: MosquittoBroker, tmp_path: Path) -> AsyncIterator[Gateway]:
    settings = EdgeSettings(
        edge_id=EDGE_ID,
        mqtt_url=mosquitto.url,
        cloud_url=district,
        cloud_token=TOKEN,
        data_dir=tmp_path / "edge",
        backoff_initial_s=0.05,
        backoff_max_s=0.5,
    )
    gw = Gateway(settings)
    task = asyncio.create_task(gw.run())
    try:
        await asyncio.wait_for(gw.started.wait(), 30)
        yield gw
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)


class Hub:
    """A home hub on the broker (username = hub id), publishing for its sensors."""

    def __init__(self, client: Any, hub_id: str) -> None:
        self.client, self.hub_id, self.seq = client, hub_id, 0
        self.downlinks: asyncio.Queue[bytes] = asyncio.Queue()

    async def send(self, channel: str, message_type: type[Any], **fields: Any) -> int:
        self.seq += 1
        message = message_type(device_id=self.hub_id, seq=self.seq, **fields)
        await self.client.publish(f"anxin/v1/up/{self.hub_id}/{channel}", encode(message), qos=1)
        return self.seq


@pytest.fixture
async def hubs(mosquitto: MosquittoBroker) -> AsyncIterator[dict[str, Hub]]:
    async with aiomqtt.Client("127.0.0.1", port=mosquitto.port, identifier="home-hubs") as client:
        found = {f"hub-000{n}": Hub(client, f"hub-000{n}") for n in range(1, 7)}
        await client.subscribe("anxin/v1/down/+/alarm", qos=1)

        async def collect() -> None:
            async for message in client.messages:
                hub_id = str(message.topic).split("/")[3]
                if hub_id in found:
                    found[hub_id].downlinks.put_nowait(bytes(message.payload))

        task = asyncio.create_task(collect())
        try:
            yield found
        finally:
            task.cancel()


async def incidents_of(base_url: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as operator:
        login = {"username": "operator", "password": PASSWORD}
        (await operator.post("/api/v1/auth/login", json=login)).raise_for_status()
        answer = await operator.get("/api/v1/incidents", params={"limit": 200})
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found


async def test_smoke_nobody_up_stuck_gas_and_a_foreign_sensor(
    gateway: Gateway, hubs: dict[str, Hub], district: str
) -> None:
    assert gateway.registry.sensor_of("hub-0001", "hub-0001-smoke") is not None

    # home 1: the kitchen smoke detector fires → P1 at once, acknowledged to the hub once on disk
    smoke_seq = await hubs["hub-0001"].send(
        "hazard",
        HazardAlarm,
        ts=MORNING + 7 * 60 * MIN,
        sensor_id="hub-0001-smoke",
        hazard=Hazard.SMOKE,
        state="alarm",
    )
    ack = decode_downlink(await asyncio.wait_for(hubs["hub-0001"].downlinks.get(), 10))
    assert isinstance(ack, AlarmReceived) and ack.ref_seq == smoke_seq
    await gateway.wait_delivered(f"hub-0001:{smoke_seq}.smoke")

    # home 2: motion reports every 5 minutes from 05:00, nobody moves; before the routine is learned the
    # care plan's 07:00 + 90 min applies → inactivity at the 08:30 report
    hub2 = hubs["hub-0002"]
    seq = 0
    for n in range(1, 43):
        seq = await hub2.send(
            "motion", MotionCount, ts=MORNING + n * 5 * MIN, sensor_id="hub-0002-pir-bed", count=0
        )
    await gateway.wait_delivered(f"hub-0002:{seq}.inactivity")

    # home 3: the gas detector alarms for 30 s every 4 minutes → the first is a P1, then it is muted
    hub3 = hubs["hub-0003"]
    first = 0
    for n in range(5):
        t = MORNING + 9 * 60 * MIN + n * 4 * MIN
        s = await hub3.send(
            "hazard", HazardAlarm, ts=t, sensor_id="hub-0003-gas", hazard=Hazard.GAS, state="alarm"
        )
        first = first or s
        await hub3.send(
            "hazard", HazardAlarm, ts=t + 30_000, sensor_id="hub-0003-gas", hazard=Hazard.GAS, state="clear"
        )
    for _ in range(10):  # every alarm and clear is acknowledged (the hub stops repeating it)
        assert isinstance(decode_downlink(await asyncio.wait_for(hub3.downlinks.get(), 10)), AlarmReceived)
    await gateway.wait_delivered(f"hub-0003:{first}.gas")
    await gateway.wait_delivered(f"hub-0003:{first + 2}.sensor_fault")

    # home 4's hub speaks for home 5's door: refused, counted, nothing raised
    before, handled = gateway.rejected_count("foreign_sensor"), gateway.handled
    await hubs["hub-0004"].send(
        "door", DoorState, ts=MORNING + 10 * 60 * MIN, sensor_id="hub-0005-door", state="open"
    )
    await gateway.wait_handled(handled + 1)
    assert gateway.rejected_count("foreign_sensor") == before + 1

    # home 6: the bathroom pull-cord → like SOS: on disk, then alarm_received keyed by the hub's seq
    cord_seq = await hubs["hub-0006"].send(
        "pull_cord", PullCordAlarm, ts=MORNING + 11 * 60 * MIN, sensor_id="hub-0006-cord"
    )
    ack = decode_downlink(await asyncio.wait_for(hubs["hub-0006"].downlinks.get(), 10))
    assert isinstance(ack, AlarmReceived) and ack.incident_key == f"hub-0006:{cord_seq}"
    assert await gateway.outbox.status_of(ack.incident_key) is not None  # stored before the ack
    await gateway.wait_delivered(ack.incident_key)

    incidents = await incidents_of(district)
    cord = [i for i in incidents if i["device_id"] == "hub-0006"]
    assert [(i["kind"], i["origin_kind"], i["severity"]) for i in cord] == [("sos", "pull_cord", "P1")]
    assert (cord[0]["home"]["sensor_id"], cord[0]["home"]["room_zh"]) == ("hub-0006-cord", "卫生间")
    smoke = [i for i in incidents if i["kind"] == "smoke"]
    assert len(smoke) == 1 and smoke[0]["severity"] == "P1" and smoke[0]["device_id"] == "hub-0001"
    home = smoke[0]["home"]
    assert (home["sensor_id"], home["room"], home["room_zh"]) == ("hub-0001-smoke", "kitchen", "厨房")
    assert "Smoke alarm in the kitchen" in home["text_en"]
    assert smoke[0]["first_steps"] == ["call_119", "call_key_holder"]
    assert smoke[0]["device_ts"] == MORNING + 7 * 60 * MIN  # the SLA clock starts at the detector

    inactivity = [i for i in incidents if i["kind"] == "inactivity" and i["device_id"] == "hub-0002"]
    assert len(inactivity) == 1
    explained = inactivity[0]["home"]
    assert explained["sensor_id"] is None and explained["hub_id"] == "hub-0002"
    assert explained["text_en"] == "no movement today; care plan: up by 07:00"
    assert explained["text_zh"] == "今日无活动；护理计划：07:00前起床"
    assert inactivity[0]["device_ts"] == MORNING + 210 * MIN  # 08:30, within 90 min of the plan's 07:00

    hub3_incidents = sorted(
        (i["kind"], i["severity"], i["event_count"]) for i in incidents if i["device_id"] == "hub-0003"
    )
    assert hub3_incidents == [("device", "P3", 1), ("gas", "P1", 1)]
    assert not [i for i in incidents if i["device_id"] in ("hub-0004", "hub-0005")]
