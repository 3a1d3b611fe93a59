"""The resident record on an incident (masked, street-scoped) and a child's place behind an audited reveal."""

from __future__ import annotations

import re

import httpx
from cloud_harness import RunningCloud, edge_event

from contracts.intake import EventKind, Severity

INTAKE = "/api/v1/intake/events"


async def test_the_record_is_masked_and_says_what_the_center_last_heard(
    cloud: RunningCloud, edge: httpx.AsyncClient
) -> None:
    battery = edge_event("wear-0001", 1, EventKind.LOW_BATTERY, severity=Severity.P4)
    battery["evidence"] = {"battery_pct": 23}
    assert (await edge.post(INTAKE, json=battery)).status_code == 201
    sos = await edge.post(INTAKE, json=edge_event("card-0001", 1, device_ts=1_760_000_060_000))
    incident_id = int(sos.json()["incident_id"])
    async with cloud.operator_client() as operator:
        response = await operator.get(f"/api/v1/incidents/{incident_id}/record")
        assert response.status_code == 200, response.text
        record = response.json()
        subject = (await operator.get(f"/api/v1/subjects/{record['subject_id']}")).json()
    assert record["masked_name"].endswith("**") and subject["display_name"] not in str(record)
    assert not re.search(r"\d", record["address_masked"]) and subject["address"] not in str(record)
    assert record["age"] > 50 and record["initial"] == record["masked_name"][:-2]
    assert record["fences_hidden"] is False and record["limits"]["hr_high_bpm"] > 0
    devices = {d["device_id"]: d for d in record["devices"]}
    assert devices["card-0001"]["in_incident"] and devices["card-0001"]["last_seen"] == 1_760_000_060_000
    assert devices["wear-0001"]["battery_pct"] == 23 and not devices["wear-0001"]["in_incident"]
    assert record["guardians"] and all("****" in g["phone_masked"] for g in record["guardians"])
    assert not re.search(r"\+86\d{11}", str(record))


async def test_no_record_outside_the_street_scope(cloud: RunningCloud, edge: httpx.AsyncClient) -> None:
    async with cloud.staff_client("op-two") as op_two:
        other = int((await edge.post(INTAKE, json=edge_event("card-0006", 1))).json()["incident_id"])
        assert (await op_two.get(f"/api/v1/incidents/{other}/record")).status_code == 404
        assert (await op_two.post(f"/api/v1/incidents/{other}/reveal-place")).status_code == 404


async def test_a_childs_trail_and_fences_only_after_an_audited_reveal(
    cloud: RunningCloud, edge: httpx.AsyncClient
) -> None:
    event = edge_event("kid-0001", 1, EventKind.GEOFENCE_EXIT, severity=Severity.P2)
    event["evidence"] = {
        "trail": [[1_760_000_000_000 + i * 60_000, 39.13 + i / 1000, 117.01, 12.0] for i in range(5)]
    }
    incident_id = int((await edge.post(INTAKE, json=event)).json()["incident_id"])
    async with cloud.staff_client("op-all") as op_all:
        detail = (await op_all.get(f"/api/v1/incidents/{incident_id}")).json()
        assert "trail" not in str(detail["evidence"])  # the detail does not leak what the reveal guards
        record = (await op_all.get(f"/api/v1/incidents/{incident_id}/record")).json()
        assert record["fences"] == [] and record["fences_hidden"] is True
        place = await op_all.post(f"/api/v1/incidents/{incident_id}/reveal-place")
        assert place.status_code == 200, place.text
        body = place.json()
        assert [round(p["lat"], 3) for p in body["trail"]] == [39.13, 39.131, 39.132, 39.133, 39.134]
        assert {f["name"] for f in body["fences"]} == {"家", "学校"}
        timeline = (await op_all.get(f"/api/v1/incidents/{incident_id}")).json()["timeline"]
        assert [(t["actor"], t["data"]["field"]) for t in timeline if t["type"] == "revealed"] == [
            ("op-all", "location")
        ]
