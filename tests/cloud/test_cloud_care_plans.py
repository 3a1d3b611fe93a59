"""Care plans over real HTTP: defaults, replace, validation naming the field, the edge snapshot."""

from __future__ import annotations

from typing import Any

import httpx

SCHOOL = {
    "name": "学校",
    "lat": 39.15,
    "lon": 117.02,
    "radius_m": 150,
    "schedule": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "16:30"},
}
PARK = {"name": "公园", "shape": "polygon", "vertices": [[39.1, 117.0], [39.1, 117.01], [39.11, 117.005]]}


async def _snapshot_entry(edge: httpx.AsyncClient, device_id: str) -> dict[str, Any]:
    snapshot = (await edge.get("/api/v1/edges/edge-xiqing-01/devices")).json()
    [entry] = [d for d in snapshot if d["device_id"] == device_id]
    return dict(entry)


async def test_demo_plans_defaults_for_elders_fences_for_children(
    operator: httpx.AsyncClient, edge: httpx.AsyncClient
) -> None:
    elder = (await operator.get("/api/v1/subjects/1/care-plan")).json()
    assert elder["vitals"] == {"hr_low_bpm": 40, "hr_high_bpm": 130, "spo2_low_pct": 90, "sustained_min": 2}
    assert elder["waking_hours"] == {"wake": "07:00", "sleep": "22:00", "utc_offset_min": 480}
    assert elder["fences"] == [] and elder["updated_at"] is not None
    kid = await _snapshot_entry(edge, "kid-0001")
    fences = kid["care_plan"]["fences"]
    assert [f["name"] for f in fences] == ["家", "学校"]
    assert fences[1]["schedule"]["days"] == ["mon", "tue", "wed", "thu", "fri"]
    assert all(39.0 < f["lat"] < 39.3 and 116.9 < f["lon"] < 117.2 for f in fences)


async def test_put_replaces_the_plan_and_reaches_the_snapshot(
    operator: httpx.AsyncClient, edge: httpx.AsyncClient
) -> None:
    subject = (await operator.get("/api/v1/subjects/1")).json()
    body = {"vitals": {"hr_high_bpm": 115, "sustained_min": 5}, "fences": [SCHOOL, PARK], "vehicle_kmh": 30}
    answer = await operator.put("/api/v1/subjects/1/care-plan", json=body)
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert plan["subject_id"] == 1 and plan["vitals"]["hr_high_bpm"] == 115
    assert plan["vitals"]["hr_low_bpm"] == 40  # missing fields take the defaults
    assert [f["shape"] for f in plan["fences"]] == ["circle", "polygon"]
    assert (await operator.get("/api/v1/subjects/1/care-plan")).json() == plan
    for device_id in subject["device_ids"]:  # every device of the person carries the plan
        entry = await _snapshot_entry(edge, device_id)
        assert entry["care_plan"]["vitals"]["sustained_min"] == 5
        assert entry["care_plan"]["fences"][1]["vertices"][2] == [39.11, 117.005]
    again = await operator.put("/api/v1/subjects/1/care-plan", json={})
    assert again.json()["fences"] == [] and again.json()["updated_at"] >= plan["updated_at"]


async def test_care_plan_validation_names_the_field(operator: httpx.AsyncClient) -> None:
    bad_schedule = {**SCHOOL, "schedule": {"days": ["mon"], "start": "17:00", "end": "08:00"}}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"vitals": {"hr_high_bpm": 400}}, "vitals.hr_high_bpm"),
        ({"vitals": {"hr_low_bpm": 90, "hr_high_bpm": 80}}, "vitals"),
        ({"vitals": {"spo2_low_pct": "low"}}, "vitals.spo2_low_pct"),
        ({"waking_hours": {"wake": "7am"}}, "waking_hours.wake"),
        ({"waking_hours": {"wake": "23:00", "sleep": "06:00"}}, "waking_hours"),
        ({"fences": [{**SCHOOL, "radius_m": 1}]}, "fences.0.circle.radius_m"),
        ({"fences": [{**SCHOOL, "lat": 91}]}, "fences.0.circle.lat"),
        ({"fences": [bad_schedule]}, "fences.0.circle.schedule"),
        ({"fences": [{**SCHOOL, "schedule": {"days": ["someday"]}}]}, "fences.0.circle.schedule.days.0"),
        ({"fences": [{**PARK, "vertices": [[39.1, 117.0]]}]}, "fences.0.polygon.vertices"),
        ({"fences": [SCHOOL, SCHOOL]}, "fences"),
        ({"fences": [{**SCHOOL, "shape": "star"}]}, "fences.0"),
        ({"vehicle_kmh": 0}, "vehicle_kmh"),
        ({"surprise": 1}, "surprise"),
        ({"vitals": {"hr_hgih_bpm": 1}}, "vitals.hr_hgih_bpm"),
        ({"fences": [{**SCHOOL, "radius": 300}]}, "fences.0.radius"),
    ]
    for body, field in cases:
        response = await operator.put("/api/v1/subjects/2/care-plan", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["detail"][0]["field"] == field, (body, response.text)
    missing = await operator.put("/api/v1/subjects/999/care-plan", json={})
    assert missing.status_code == 404 and missing.json()["detail"][0]["field"] == "subject_id"
    assert (await operator.get("/api/v1/subjects/999/care-plan")).status_code == 404


async def test_care_plans_need_an_operator(edge: httpx.AsyncClient) -> None:
    assert (await edge.get("/api/v1/subjects/1/care-plan")).status_code == 401
    assert (await edge.put("/api/v1/subjects/1/care-plan", json={})).status_code == 401
