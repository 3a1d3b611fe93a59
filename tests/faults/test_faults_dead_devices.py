"""Dead devices are reported on time, also across a gateway restart, and a last will is heard.

Real processes: Mosquitto (fixture), ``anxin cloud`` and ``anxin edge`` as subprocesses, and for the last
will a device process killed with ``kill -9`` (the broker then publishes its will). New gateway settings
go in as ``ANXIN_EDGE_*`` variables (an older gateway ignores them and fails the assertion).
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fault_devices import cards, now_ms
from fault_processes import District, LoggedProcess, _env, operator_client, until

from broker.runner import MosquittoBroker, free_port

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.timeout(180)]

QUIET_MIN = 0.1  # 6 s: the card's silence threshold in its care plan for these tests


@pytest.fixture
async def district(mosquitto: MosquittoBroker, tmp_path: Path) -> AsyncIterator[District]:
    d = District(mqtt_url=mosquitto.url, workdir=tmp_path, free_port=free_port)
    try:
        yield d
    finally:
        await d.close()


async def _set_silence(cloud_url: str, device_id: str, minutes: float) -> None:
    async with operator_client(cloud_url) as op:
        devices = (await op.get("/api/v1/devices", params={"limit": 500})).json()
        [device] = [d for d in devices if d["device_id"] == device_id]
        answer = await op.put(
            f"/api/v1/subjects/{device['subject_id']}/care-plan",
            json={
                "silence": {"sos_card_min": minutes, "wearable_min": minutes, "child_monitor_min": minutes}
            },
        )
        assert answer.status_code == 200, answer.text


def _last_seen_saved(edge_db: Path, device_id: str) -> bool:
    try:
        conn = sqlite3.connect(f"file:{edge_db}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = conn.execute("SELECT 1 FROM last_seen WHERE device_id = ?", (device_id,)).fetchone()
    except sqlite3.Error:  # no such table (yet)
        return False
    finally:
        conn.close()
    return row is not None


def _silent_events(edge_db: Path, device_id: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{edge_db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT body FROM outbox WHERE device_id = ? AND kind IN ('device_silent', 'battery_depleted')",
            (device_id,),
        ).fetchall()
    finally:
        conn.close()
    return [orjson.loads(r[0]) for r in rows]


async def test_a_device_quiet_across_a_gateway_restart_is_reported_on_time(
    district: District, mosquitto: MosquittoBroker
) -> None:
    await district.start_cloud()
    await _set_silence(district.cloud_url, "card-0003", QUIET_MIN)
    await district.start_edge(tick_s=0.2, last_seen_flush_s=0.2)
    edge_db = district.edge_dir / "edge.sqlite3"
    async with cards(mosquitto.host, mosquitto.port) as devices:
        heard = now_ms()
        await devices.status("card-0003", 1, ts=heard)

        async def saved() -> bool:
            return _last_seen_saved(edge_db, "card-0003")

        await until(saved, within_s=10, what="card-0003's last-seen written to the edge database")
    await district.kill_edge()  # no shutdown code runs
    edge = await district.start_edge()
    line = await edge.wait_line(r"incident\.created key=card-0003:\S*device_silent", within_s=30)
    assert line
    [event] = _silent_events(edge_db, "card-0003")
    quiet_ms = event["device_ts"] - heard
    assert QUIET_MIN * 60_000 <= quiet_ms <= QUIET_MIN * 60_000 + 10_000, quiet_ms  # on time, not late
    assert event["evidence"]["reason"] == "missed_heartbeats"


_LWT_DEVICE = """
import json, sys, threading, time
import paho.mqtt.client as mqtt
host, port, device = sys.argv[1], int(sys.argv[2]), sys.argv[3]
topic = f"anxin/v1/up/{device}/presence"
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{device}-lwt", protocol=mqtt.MQTTv311)
will = {"v": 1, "type": "presence", "device_id": device, "online": False}
client.will_set(topic, json.dumps(will), qos=1, retain=True)
client.connect(host, port, keepalive=30)
client.loop_start()
online = {"v": 1, "type": "presence", "device_id": device, "online": True, "ts": time.time_ns() // 1_000_000}
client.publish(topic, json.dumps(online), qos=1, retain=True).wait_for_publish(10)
print("device.online", flush=True, file=sys.stderr)
threading.Event().wait()
"""


async def _lwt_device(mosquitto: MosquittoBroker, device_id: str) -> LoggedProcess:
    argv = [sys.executable, "-c", _LWT_DEVICE, mosquitto.host, str(mosquitto.port), device_id]
    device = LoggedProcess(f"device {device_id}", argv, _env({}))
    await device.start()
    await device.wait_line(r"device\.online", within_s=15)
    return device


async def test_last_will_offline_is_reported_after_the_grace_unless_the_device_is_back(
    district: District, mosquitto: MosquittoBroker
) -> None:
    await district.start_cloud()
    edge = await district.start_edge(tick_s=0.2, offline_grace_s=2.0, metrics_port=district.metrics_port)
    gone = await _lwt_device(mosquitto, "card-0004")
    flaky = await _lwt_device(mosquitto, "card-0005")

    async def both_online() -> bool:
        return await district.metric("anxin_edge_devices_online") == 2

    await until(both_online, within_s=10, what="the gateway saw both devices online")
    gone.kill()
    flaky.kill()  # both connections drop: the broker publishes both last wills
    dropped = time.monotonic()
    await asyncio.gather(gone.wait_exit(), flaky.wait_exit())
    back = await _lwt_device(mosquitto, "card-0005")  # reconnects within the grace
    line = await edge.wait_line(r"incident\.created key=card-0004:\S*device_silent", within_s=30)
    assert line and time.monotonic() - dropped >= 2.0
    [event] = _silent_events(district.edge_dir / "edge.sqlite3", "card-0004")
    assert event["evidence"]["reason"] == "last_will_offline"
    assert _silent_events(district.edge_dir / "edge.sqlite3", "card-0005") == []  # it came back in time
    back.kill()
    await back.wait_exit()
