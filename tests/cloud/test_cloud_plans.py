"""Response plans: a checklist the operator ticks (on the timeline), and audited reveals of personal data."""

from __future__ import annotations

import httpx
from cloud_harness import RunningCloud, edge_event

INTAKE = "/api/v1/intake/events"
PLAN = {
    "call_order": [
        {"label": "女儿", "phone": "+8613800001111"},
        {"label": "邻居 李**", "phone": "+8613800002222"},
    ],
    "key_safe_holder": {"label": "物业 前台", "phone": "+8613800003333"},
    "community_worker": {"label": "网格员 王**", "phone": "+8613800004444"},
    "medical_notes": "高血压，服用氨氯地平；青霉素过敏",
    "extra_steps": [{"id": "door", "label": "确认楼门密码"}],
}


async def test_the_plan_is_a_checklist_and_every_reveal_is_audited(
    cloud: RunningCloud, edge: httpx.AsyncClient
) -> None:
    async with cloud.operator_client() as admin, cloud.staff_client("op-two") as op_two:
        incident_id = int((await edge.post(INTAKE, json=edge_event("card-0001", 1))).json()["incident_id"])
        subject_id = (await admin.get(f"/api/v1/incidents/{incident_id}")).json()["subject"]["id"]
        assert (
            await op_two.put(f"/api/v1/subjects/{subject_id}/response-plan", json=PLAN)
        ).status_code == 403
        saved = await admin.put(f"/api/v1/subjects/{subject_id}/response-plan", json=PLAN)
        assert saved.status_code == 200, saved.text
        bad = await admin.put(
            f"/api/v1/subjects/{subject_id}/response-plan", json={"medical_notes": 1, "x": 2}
        )
        assert bad.status_code == 422

        plan = (await op_two.get(f"/api/v1/incidents/{incident_id}/response-plan")).json()
        ids = [item["id"] for item in plan["checklist"]]
        assert ids == ["call_0", "call_1", "key_safe", "community_worker", "medical_notes", "door"]
        text = str(plan)
        assert "1111" in text and "+8613800001111" not in text and "氨氯地平" not in text  # masked, hidden
        assert plan["has_medical_notes"] is True

        ticked = await op_two.post(f"/api/v1/incidents/{incident_id}/checklist/call_0")
        first = next(i for i in ticked.json()["checklist"] if i["id"] == "call_0")
        assert first["ticked_by"] == "op-two" and first["ticked_at"] is not None
        assert (await op_two.post(f"/api/v1/incidents/{incident_id}/checklist/nope")).status_code == 404

        revealed = []
        for field in ("phone:call_0", "medical_notes", "address", "phone:key_safe"):
            response = await op_two.post(f"/api/v1/incidents/{incident_id}/reveal", json={"field": field})
            assert response.status_code == 200, (field, response.text)
            revealed.append(response.json())
        assert revealed[0]["value"] == "+8613800001111"
        assert revealed[1]["value"] == PLAN["medical_notes"]
        bad_field = await op_two.post(
            f"/api/v1/incidents/{incident_id}/reveal", json={"field": "phone:nobody"}
        )
        assert bad_field.status_code == 422

        audit = (await admin.get("/api/v1/audit/reveals", params={"subject_id": subject_id})).json()
        assert [(a["username"], a["field"]) for a in reversed(audit)] == [
            ("op-two", "phone:call_0"),
            ("op-two", "medical_notes"),
            ("op-two", "address"),
            ("op-two", "phone:key_safe"),
        ]
        assert all(a["incident_id"] == incident_id and a["at"] > 0 for a in audit)
        assert {r["audit_id"] for r in revealed} == {a["id"] for a in audit}
        timeline = (await admin.get(f"/api/v1/incidents/{incident_id}")).json()["timeline"]
        assert [t["data"]["field"] for t in timeline if t["type"] == "revealed"] == [
            "phone:call_0",
            "medical_notes",
            "address",
            "phone:key_safe",
        ]
        assert [t["data"]["item"] for t in timeline if t["type"] == "checklist_ticked"] == ["call_0"]
        assert (await op_two.get("/api/v1/audit/reveals")).status_code == 403


async def test_no_reveal_outside_the_street_scope(cloud: RunningCloud, edge: httpx.AsyncClient) -> None:
    async with cloud.staff_client("op-two") as op_two:
        other = int((await edge.post(INTAKE, json=edge_event("card-0006", 1))).json()["incident_id"])
        response = await op_two.post(f"/api/v1/incidents/{other}/reveal", json={"field": "address"})
        assert response.status_code == 404
        assert (await op_two.get(f"/api/v1/incidents/{other}/response-plan")).status_code == 404


async def test_a_childs_location_is_shown_only_after_an_audited_reveal(
    cloud: RunningCloud, edge: httpx.AsyncClient
) -> None:
    async with cloud.staff_client("op-all") as op_all:
        incident_id = int((await edge.post(INTAKE, json=edge_event("kid-0001", 1))).json()["incident_id"])
        item = (await op_all.get(f"/api/v1/incidents/{incident_id}")).json()
        assert item["last_location"] is None and item["location_hidden"] is True
        shown = await op_all.post(f"/api/v1/incidents/{incident_id}/reveal", json={"field": "location"})
        assert shown.json()["value"] == "39.130000,117.010000"
        timeline = (await op_all.get(f"/api/v1/incidents/{incident_id}")).json()["timeline"]
        assert [(t["actor"], t["data"]["field"]) for t in timeline if t["type"] == "revealed"] == [
            ("op-all", "location")
        ]
