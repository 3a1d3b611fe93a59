"""``anxin demo`` on its own Mosquitto runs with per-device logins and the ACL, as production does.

The simulated fleet logs in device by device and its SOS reaches the console; a device that forges an
SOS for another card is refused at the broker; an anonymous client is not let in at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from e2e_live import LiveIncidents
from mqtt_probe import NOT_AUTHORIZED, SUCCESS, Probe

import contracts as c
from anxin.demo import CREDENTIALS_FILE, DemoConfig, run_demo
from broker.runner import free_port, mosquitto_binary

PASSWORD = "e2e-operator-pass-2"
FLEET = 3  # card-0001, wear-0001, kid-0001 (the demo interleaves kinds)
ATTACKER, VICTIM = "card-0003", "card-0002"  # registered, not in the simulated fleet


@contextlib.asynccontextmanager
async def demo_on_own_broker(tmp_path: Path, broker: str) -> AsyncIterator[tuple[str, int, Path]]:
    if broker == "mosquitto" and mosquitto_binary() is None:
        pytest.fail("the mosquitto binary is required (apt-get install -y mosquitto)")
    http_port, mqtt_port = free_port(), free_port()
    config = DemoConfig(
        http_port=http_port,
        mqtt_port=mqtt_port,
        mqtt_url=None,
        devices=FLEET,
        operator_password=PASSWORD,
        data_dir=tmp_path / "demo",
        keep_data=False,
        seed=1,
        sos_every_s=3600,  # the first press comes at once (FIRST_SOS_S), the next in an hour
        broker=broker,
    )
    ready = asyncio.Event()
    task = asyncio.create_task(run_demo(config, ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 90)
        yield f"http://127.0.0.1:{http_port}", mqtt_port, config.data_dir
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _sos(device_id: str, seq: int) -> bytes:
    return c.encode(c.SosPress(device_id=device_id, seq=seq, ts=int(time.time() * 1000)))


@pytest.mark.integration
# amqtt leaves the sockets of the connections it refused unclosed (the named exception, tests/conftest.py)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("broker", ["mosquitto", "amqtt"])
async def test_demo_fleet_logs_in_per_device_and_forged_uplinks_are_refused(
    tmp_path: Path, broker: str
) -> None:
    # MQTT 5 against Mosquitto: a refused publish is answered 0x87. amqtt speaks 3.1.1 and drops it silently
    # (tests/broker/test_broker_amqtt_logins.py checks what arrives); here only the outcome is checked.
    protocol = mqtt.MQTTv5 if broker == "mosquitto" else mqtt.MQTTv311
    async with demo_on_own_broker(tmp_path, broker) as (base_url, mqtt_port, data_dir):
        credentials_file = data_dir / CREDENTIALS_FILE
        assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
        secrets: dict[str, str] = json.loads(credentials_file.read_text())
        assert {"card-0001", "wear-0001", "kid-0001", ATTACKER, VICTIM} <= set(secrets)

        async with httpx.AsyncClient(base_url=base_url, timeout=10) as api:
            login = await api.post("/api/v1/auth/login", json={"username": "operator", "password": PASSWORD})
            assert login.status_code == 200, login.text
            live = LiveIncidents(api)
            follower = asyncio.create_task(live.follow())
            try:
                await asyncio.wait_for(live.connected.wait(), 10)
                listed = (await api.get("/api/v1/incidents", params={"status": "all"})).json()
                before: list[dict[str, Any]] = listed["items"] if isinstance(listed, dict) else listed
                fleet = {"card-0001", "wear-0001", "kid-0001"}
                if not any(i["device_id"] in fleet for i in before):  # the fleet's first SOS, logged in
                    await live.wait_for(lambda seen: any(i["device_id"] in fleet for i in seen.values()), 30)

                anonymous = Probe("127.0.0.1", mqtt_port, client_id="anonymous-e2e", protocol=protocol)
                attacker = Probe("127.0.0.1", mqtt_port, ATTACKER, secrets[ATTACKER], protocol=protocol)
                try:
                    assert await asyncio.to_thread(anonymous.connect) != SUCCESS
                    assert await asyncio.to_thread(attacker.connect) == SUCCESS
                    assert await asyncio.to_thread(attacker.subscribe, c.downlink_filter(ATTACKER)) == 1
                    forged = c.uplink_topic(VICTIM, c.UplinkChannel.SOS)
                    answer = await asyncio.to_thread(attacker.publish, forged, _sos(VICTIM, 1))
                    assert answer == (NOT_AUTHORIZED if broker == "mosquitto" else SUCCESS)
                    own = c.uplink_topic(ATTACKER, c.UplinkChannel.SOS)
                    assert await asyncio.to_thread(attacker.publish, own, _sos(ATTACKER, 1)) == SUCCESS
                    # the gateway (its own login) answers on the attacker's own downlink topic
                    await asyncio.to_thread(
                        attacker.wait_for,
                        lambda m: (
                            m.topic.startswith(f"anxin/v1/down/{ATTACKER}/")
                            and isinstance(c.decode_downlink(m.payload), c.AlarmReceived)
                        ),
                    )
                    await live.wait_for(lambda seen: any(i["device_id"] == ATTACKER for i in seen.values()))
                finally:
                    await asyncio.to_thread(anonymous.close)
                    await asyncio.to_thread(attacker.close)
                items = (await api.get("/api/v1/incidents", params={"status": "all"})).json()
                items = items["items"] if isinstance(items, dict) else items
                assert VICTIM not in {i["device_id"] for i in items}
            finally:
                follower.cancel()
