"""The cloud goes away: the edge texts the guardians itself, recovers promptly, and says so in its metrics.

Real processes: Mosquitto (fixture), ``anxin cloud`` and ``anxin edge`` as subprocesses; ``kill -9``.
New gateway settings are passed as ``ANXIN_EDGE_*`` variables, so an older gateway runs (and fails the
assertion, not the start-up).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fault_devices import cards
from fault_processes import District, operator_client, until

from broker.runner import MosquittoBroker, free_port

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.timeout(180)]

CARD = "card-0001"


@pytest.fixture
async def district(mosquitto: MosquittoBroker, tmp_path: Path) -> AsyncIterator[District]:
    d = District(mqtt_url=mosquitto.url, workdir=tmp_path, free_port=free_port)
    try:
        yield d
    finally:
        await d.close()


async def _person_of(cloud_url: str, device_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The subject wearing ``device_id`` and its guardians (operator API, full records)."""
    async with operator_client(cloud_url) as op:
        devices = (await op.get("/api/v1/devices", params={"limit": 500})).json()
        [device] = [d for d in devices if d["device_id"] == device_id]
        subject = (await op.get(f"/api/v1/subjects/{device['subject_id']}")).json()
        guardians = (await op.get(f"/api/v1/subjects/{device['subject_id']}/guardians")).json()
    assert guardians, "the demo person needs guardians for this test"
    return subject, guardians


async def _incident_of(cloud_url: str, key: str) -> dict[str, Any]:
    async with operator_client(cloud_url) as op:
        items = (await op.get("/api/v1/incidents", params={"status": "all"})).json()
        [item] = [i for i in items if key in {i["origin_key"]}]
        detail: dict[str, Any] = (await op.get(f"/api/v1/incidents/{item['id']}")).json()
        return detail


async def _cloud_sms_by_guardian(cloud_url: str) -> dict[int, int]:
    async with operator_client(cloud_url) as op:
        phones = (await op.get("/api/v1/dev/sms")).json()
    return {p["guardian_id"]: sum(1 for m in p["messages"] if m["direction"] == "out") for p in phones}


async def _edge_sms(district: District) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.get(f"http://127.0.0.1:{district.metrics_port}/dev/sms")
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()
    return found


async def test_cloud_down_guardians_texted_by_the_edge_once_then_reconciled(
    district: District, mosquitto: MosquittoBroker
) -> None:
    await district.start_cloud()
    subject, guardians = await _person_of(district.cloud_url, CARD)
    edge = await district.start_edge(
        degraded_after_s=1.0, metrics_port=district.metrics_port, backoff_initial_s=0.2, backoff_max_s=1.0
    )
    await district.kill_cloud()

    async with cards(mosquitto.host, mosquitto.port) as devices:
        await devices.listen(CARD)
        pressed = time.monotonic()
        await devices.sos(CARD, 1)  # stored and acknowledged although the center is gone
        line = await edge.wait_line(r"edge_sms\.sent", count=len(guardians), within_s=20)
        assert time.monotonic() - pressed >= 1.0, "texted before the configured delay"
        assert line

    sent = await _edge_sms(district)
    assert sorted(s["guardian_id"] for s in sent) == sorted(g["id"] for g in guardians)  # each once
    surname_masked = subject["masked_name"]
    for sms in sent:
        assert surname_masked in sms["body"] and subject["display_name"] not in sms["body"]
        assert sms["status"] == "sent"
        assert all(g["phone"] not in str(sms) for g in guardians)  # masked on the dev page
    log = "\n".join(district.edge_lines())
    assert all(g["phone"] not in log and g["name"] not in log for g in guardians)
    assert subject["display_name"] not in log

    await district.start_cloud()  # same database: the center comes back
    await edge.wait_line(rf"outbox\.delivered key={CARD}:1\b", within_s=20)
    incident = await _incident_of(district.cloud_url, f"{CARD}:1")
    entries = [e for e in incident["timeline"] if e["type"] == "guardians_notified_by_edge"]
    assert len(entries) == 1 and entries[0]["actor"] == "edge"
    assert sorted(entries[0]["data"]["guardian_ids"]) == sorted(g["id"] for g in guardians)
    # the edge's texts are on record as sent (the guardian ladder skips them); the center queued no SMS
    notes = [(n["kind"], n["status"], n["channel"]) for n in incident["notifications"]]
    assert notes == [("edge", "sent", "sms")] * len(guardians)
    texted_by_cloud = await _cloud_sms_by_guardian(district.cloud_url)
    assert all(texted_by_cloud.get(g["id"], 0) == 0 for g in guardians)
    assert edge.count(r"edge_sms\.sent") == len(guardians)  # and the edge did not text again


async def test_first_event_reaches_the_cloud_promptly_after_it_returns(
    district: District, mosquitto: MosquittoBroker
) -> None:
    await district.start_cloud()
    # A long backoff (the first pause alone is 30–60 s): waiting it out would time out below. The probe
    # period is 0.5 s, so the event arrives about a second after the cloud listens; the bound is wider
    # than the 5 s target only so that a loaded CI machine does not turn this into a flaky test.
    edge = await district.start_edge(
        backoff_initial_s=60.0, backoff_max_s=600.0, degraded_after_s=3600.0, cloud_probe_s=0.5
    )
    await district.kill_cloud()
    async with cards(mosquitto.host, mosquitto.port) as devices:
        await devices.listen(CARD)
        await devices.sos(CARD, 1)
        await edge.wait_line(r"forwarder\.cloud_down", within_s=30)
        cloud = await district.start_cloud()
        answered = time.monotonic()
        assert cloud.running
        await edge.wait_line(rf"outbox\.delivered key={CARD}:1\b", within_s=15.0)
    assert time.monotonic() - answered <= 15.0


async def test_cloud_up_metric_follows_the_cloud(district: District) -> None:
    await district.start_cloud()
    await district.start_edge(metrics_port=district.metrics_port, backoff_initial_s=0.2, backoff_max_s=1.0)

    async def cloud_up_is(value: float) -> bool:
        return await district.metric("anxin_edge_cloud_up") == value

    await until(lambda: cloud_up_is(1.0), within_s=10, what="cloud_up 1 while the cloud is healthy")
    await district.kill_cloud()
    await until(lambda: cloud_up_is(0.0), within_s=15, what="cloud_up 0 once the cloud is gone")
    await district.start_cloud()
    await until(lambda: cloud_up_is(1.0), within_s=15, what="cloud_up 1 again")
