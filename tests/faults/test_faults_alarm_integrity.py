"""Alarm integrity under counter restarts, forged messages, unknown devices and foreign gateways.

Real Mosquitto, real gateways, the real cloud on uvicorn. Each test names the defect of issue 9 it
pins down; each failed on the code before the fix.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from alarm_stack import (
    EDGE_A,
    EDGE_B,
    TOKEN_A,
    TOKEN_B,
    console,
    devices,
    real_cloud,
    running_gateway,
    uplink,
)

from broker.runner import MosquittoBroker

pytestmark = [pytest.mark.faults, pytest.mark.integration]

INTAKE = "/api/v1/intake/events"
SEQ_MAX = 2**53 - 1


def wall_ms() -> int:
    return int(time.time() * 1000)


async def test_counter_restart_opens_a_new_incident(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    """A card whose seq restarts (factory reset, battery swap) and presses SOS seq 5 again is heard."""
    async with (
        real_cloud(tmp_path) as cloud,
        console(cloud) as operator,
        running_gateway(mosquitto, cloud, tmp_path / "edge"),
        devices(mosquitto) as link,
    ):
        await link.listen("card-0001")
        first_ts = wall_ms()
        await link.publish("card-0001", "sos", uplink("card-0001", "sos", 5, first_ts))
        await link.wait_ack("card-0001", 5)
        first = await operator.wait_for("first SOS", lambda i: i["device_id"] == "card-0001")
        resolved = await operator.client.post(f"/api/v1/incidents/{first['id']}/false-alarm")
        resolved.raise_for_status()

        # Old firmware (no boot field): the counter restarts and seq 5 comes again with a newer clock.
        await link.publish("card-0001", "sos", uplink("card-0001", "sos", 5, first_ts + 60_000))
        await link.wait_ack("card-0001", 5, count=2)
        second = await operator.wait_for(
            "SOS after a counter restart (v1)",
            lambda i: i["device_id"] == "card-0001" and i["id"] != first["id"] and i["status"] == "new",
        )
        resolved = await operator.client.post(f"/api/v1/incidents/{second['id']}/false-alarm")
        resolved.raise_for_status()

        # New firmware: boot 1 after the reset, seq 5 again.
        await link.publish("card-0001", "sos", uplink("card-0001", "sos", 5, first_ts + 120_000, boot=1))
        ack = await link.wait_ack("card-0001", 5, count=3)
        assert ack.get("ref_boot") == 1
        third = await operator.wait_for(
            "SOS after a reset (boot 1)",
            lambda i: i["device_id"] == "card-0001" and i["id"] not in (first["id"], second["id"]),
        )
        assert third["status"] == "new" and third["origin_key"] == ack["incident_key"]


async def test_forged_status_does_not_block_the_next_sos(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    """A status with seq 2^53-1 and a far-future clock on the device's topic must not lock it out."""
    async with (
        real_cloud(tmp_path) as cloud,
        console(cloud) as operator,
        running_gateway(mosquitto, cloud, tmp_path / "edge") as gateway,
        devices(mosquitto) as link,
    ):
        await link.listen("card-0002")
        now = wall_ms()
        await link.publish("card-0002", "status", uplink("card-0002", "status", 3, now, battery_pct=80))
        forged = uplink("card-0002", "status", SEQ_MAX, 9_999_999_999_999, battery_pct=80)
        await link.publish("card-0002", "status", forged)
        await gateway.wait_handled(2)
        await link.publish("card-0002", "sos", uplink("card-0002", "sos", 4, now + 1_000))
        ack = await link.wait_ack("card-0002", 4)
        incident = await operator.wait_for(
            "SOS after a forged status", lambda i: i["device_id"] == "card-0002"
        )
        assert incident["origin_key"] == ack["incident_key"] and incident["severity"] == "P1"
        # Telemetry goes on too: the forged message did not move the window.
        await link.publish(
            "card-0002", "status", uplink("card-0002", "status", 5, now + 2_000, battery_pct=79)
        )
        await gateway.wait_handled(4)
        assert gateway.rejected_count("clock_ahead") == 1
        assert gateway.rejected_count("replayed") == 0


async def test_unknown_device_sos_is_an_unassigned_alarm(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    """An SOS from a device no registry knows reaches the console as an unassigned P1 alarm."""
    async with (
        real_cloud(tmp_path) as cloud,
        console(cloud) as operator,
        running_gateway(mosquitto, cloud, tmp_path / "edge") as gateway,
        devices(mosquitto) as link,
    ):
        assert gateway.registry.loaded and not gateway.registry.knows("stranger-9")
        await link.listen("stranger-9")
        await link.publish("stranger-9", "sos", uplink("stranger-9", "sos", 1, wall_ms()))
        ack = await link.wait_ack("stranger-9", 1)
        live = await operator.wait_for("unassigned SOS", lambda i: i["device_id"] == "stranger-9")
        [listed] = [i for i in await operator.incidents() if i["device_id"] == "stranger-9"]
        for item in (live, listed):
            assert item["subject"] is None and item["unassigned"] is True
            assert (item["severity"], item["status"], item["kind"]) == ("P1", "new", "sos")
            assert item["origin_key"] == ack["incident_key"]


async def test_commissioning_gateway_sos_of_unregistered_device_is_an_unassigned_alarm(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """A gateway without a device list forwards everything; the center turns the unknown SOS into an
    unassigned alarm instead of a 422 that parks it."""
    async with (
        real_cloud(tmp_path) as cloud,
        console(cloud) as operator,
        running_gateway(mosquitto, cloud, tmp_path / "edge", accept_unknown_devices=True) as gateway,
        devices(mosquitto) as link,
    ):
        await link.listen("new-card-7")
        await link.publish("new-card-7", "sos", uplink("new-card-7", "sos", 1, wall_ms()))
        ack = await link.wait_ack("new-card-7", 1)
        item = await operator.wait_for("commissioning SOS", lambda i: i["device_id"] == "new-card-7")
        assert item["unassigned"] is True and item["subject"] is None and item["severity"] == "P1"
        await gateway.wait_delivered(ack["incident_key"])


async def test_sos_heard_by_the_wrong_gateway_is_an_unassigned_alarm(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """Gateway B hears gateway A's card: the center refuses B's claim (403) and B re-reports the alarm
    as unassigned, so it still reaches a human — without touching the card's own incidents."""
    async with (
        real_cloud(tmp_path) as cloud,
        console(cloud) as operator,
        running_gateway(mosquitto, cloud, tmp_path / "edge-b", edge_id=EDGE_B, accept_unknown_devices=True),
        devices(mosquitto) as link,
    ):
        await link.listen("card-0003")
        await link.publish("card-0003", "sos", uplink("card-0003", "sos", 1, wall_ms()))
        await link.wait_ack("card-0003", 1)
        item = await operator.wait_for("SOS heard by gateway B", lambda i: i["device_id"] == "card-0003")
        assert item["unassigned"] is True and item["subject"] is None and item["edge_id"] == EDGE_B


async def test_intake_refuses_foreign_gateways_and_keys_not_derived_from_the_body(tmp_path: Path) -> None:
    """Gateway B's token cannot write gateway A's device (403); a key not derived from the body is 422.
    Neither creates anything, and both are counted."""
    ts = wall_ms()
    event = {
        "key": "card-0004:7",
        "edge_id": EDGE_B,
        "device_id": "card-0004",
        "seq": 7,
        "kind": "sos",
        "severity": "P1",
        "device_ts": ts,
        "edge_ts": ts + 100,
    }
    async with real_cloud(tmp_path) as cloud, console(cloud) as operator:
        async with httpx.AsyncClient(base_url=cloud, headers={"Authorization": f"Bearer {TOKEN_B}"}) as b:
            refused = await b.post(INTAKE, json=event)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "forbidden"
        assert refused.json()["detail"][0]["field"] == "device_id"

        taken_in_advance = {**event, "edge_id": EDGE_A, "key": "card-0004:8"}
        async with httpx.AsyncClient(base_url=cloud, headers={"Authorization": f"Bearer {TOKEN_A}"}) as a:
            bad_key = await a.post(INTAKE, json=taken_in_advance)
            assert bad_key.status_code == 422, bad_key.text
            assert bad_key.json()["detail"][0]["field"] == "key"
            # The real SOS seq 8 later is a new alarm, not a "duplicate" of the refused one.
            real = await a.post(INTAKE, json={**taken_in_advance, "key": "card-0004:8", "seq": 8})
            assert real.status_code == 201 and real.json()["duplicate"] is False

        open_now = [i for i in await operator.incidents("all") if i["device_id"] == "card-0004"]
        assert [i["origin_key"] for i in open_now] == ["card-0004:8"]
        metrics = (await operator.client.get("/metrics")).text
        assert 'anxin_cloud_intake_refused_total{reason="wrong_gateway"} 1.0' in metrics
        assert 'anxin_cloud_intake_refused_total{reason="key_not_derived"} 1.0' in metrics
