"""Staff accounts over real HTTP: admin API, street scope on every read, login throttling, ownership."""

from __future__ import annotations

import asyncio

import httpx
from cloud_harness import PASSWORD, RunningCloud, SseReader, edge_event

INTAKE = "/api/v1/intake/events"
OWN_STREET_DEVICE = "card-0001"  # 西营门街道: op-two's street
OTHER_STREET_DEVICE = "card-0006"  # 赤龙南街道: not op-two's


async def _open(edge: httpx.AsyncClient, device: str, seq: int = 1) -> int:
    response = await edge.post(INTAKE, json=edge_event(device, seq))
    assert response.status_code == 201, response.text
    return int(response.json()["incident_id"])


async def test_an_operator_of_two_streets_cannot_read_act_on_or_stream_a_third_streets_incident(
    cloud: RunningCloud, edge: httpx.AsyncClient
) -> None:
    async with cloud.staff_client("op-two") as op_two, cloud.staff_client("op-all") as op_all:
        me = (await op_two.get("/api/v1/auth/me")).json()
        assert me["role"] == "operator" and not me["all_streets"] and len(me["street_ids"]) == 2
        async with op_two.stream("GET", "/api/v1/stream", timeout=httpx.Timeout(10, read=None)) as stream:
            reader = SseReader(stream)
            assert await reader.comment() == "connected"
            other = await _open(edge, OTHER_STREET_DEVICE)
            own = await _open(edge, OWN_STREET_DEVICE)
            created = await reader.until("incident.created")
            assert created.data["id"] == own  # the other street's incident never came down this stream
        assert [i["id"] for i in (await op_two.get("/api/v1/incidents")).json()] == [own]
        assert {i["id"] for i in (await op_all.get("/api/v1/incidents")).json()} == {own, other}
        for method, path in (
            ("GET", f"/api/v1/incidents/{other}"),
            ("POST", f"/api/v1/incidents/{other}/acknowledge"),
            ("POST", f"/api/v1/incidents/{other}/notes"),
        ):
            body = {"text": "x"} if path.endswith("notes") else {}
            response = await op_two.request(method, path, json=body)
            assert response.status_code == 404, (path, response.text)  # as if it did not exist
        assert (await op_two.get(f"/api/v1/incidents/{own}")).status_code == 200
        # registry reads of personal data are for supervisors and admins
        assert (await op_two.get("/api/v1/subjects")).status_code == 403


async def test_supervisor_sees_only_subjects_in_scope_and_admin_manages_accounts(cloud: RunningCloud) -> None:
    async with cloud.operator_client() as admin, cloud.staff_client("supervisor") as supervisor:
        created = await admin.post(
            "/api/v1/admin/accounts",
            json={
                "username": "li.na",
                "display_name": "李娜",
                "role": "supervisor",
                "password": "another-good-pass",
                "streets": ["jinmenhu"],
            },
        )
        assert created.status_code == 201, created.text
        account = created.json()
        assert account["streets"] == ["jinmenhu"] and account["role"] == "supervisor"
        assert (await admin.post("/api/v1/admin/accounts", json={**_new("li.na")})).status_code == 409
        bad_street = await admin.post("/api/v1/admin/accounts", json={**_new("x1"), "streets": ["atlantis"]})
        assert bad_street.status_code == 422 and bad_street.json()["detail"][0]["field"] == "streets"
        weak = await admin.post("/api/v1/admin/accounts", json={**_new("x2"), "password": "password"})
        assert weak.status_code == 422
        assert (await supervisor.get("/api/v1/admin/accounts")).status_code == 403
        async with cloud.staff_client("li.na", "another-good-pass") as li_na:
            subjects = (await li_na.get("/api/v1/subjects", params={"limit": 500})).json()
            assert subjects and {s["community"]["street_id"] for s in subjects} == {4}
            everyone = (await supervisor.get("/api/v1/subjects", params={"limit": 500})).json()
            assert len(everyone) > len(subjects)
            outside = next(s for s in everyone if s["community"]["street_id"] != 4)
            assert (await li_na.get(f"/api/v1/subjects/{outside['id']}")).status_code == 404
            assert (await li_na.get(f"/api/v1/subjects/{outside['id']}/guardians")).status_code == 404
            # deactivating the account ends its open sessions at once
            off = await admin.patch(f"/api/v1/admin/accounts/{account['id']}", json={"active": False})
            assert off.status_code == 200 and off.json()["active"] is False
            assert (await li_na.get("/api/v1/auth/me")).status_code == 401
        staff = {s["username"] for s in (await supervisor.get("/api/v1/staff")).json()}
        assert {"operator", "supervisor", "op-all", "op-two"} <= staff and "li.na" not in staff


def _new(username: str) -> dict[str, object]:
    return {"username": username, "display_name": "n", "password": "another-good-pass", "all_streets": True}


async def test_one_persons_typos_do_not_lock_out_the_room(cloud: RunningCloud) -> None:
    async with cloud.client() as client:  # the whole room shares one address
        for _ in range(10):
            wrong = await client.post(
                "/api/v1/auth/login", json={"username": "op-all", "password": "typo-typo"}
            )
            assert wrong.status_code == 401
        blocked = await client.post("/api/v1/auth/login", json={"username": "op-all", "password": PASSWORD})
        assert blocked.status_code == 429
        colleague = await client.post("/api/v1/auth/login", json={"username": "op-two", "password": PASSWORD})
        assert colleague.status_code == 200


async def test_two_operators_on_one_incident_get_a_clear_conflict(
    cloud: RunningCloud, edge: httpx.AsyncClient
) -> None:
    incident_id = await _open(edge, OWN_STREET_DEVICE)
    base = f"/api/v1/incidents/{incident_id}"
    async with (
        cloud.staff_client("op-all") as op_all,
        cloud.staff_client("op-two") as op_two,
        cloud.staff_client("supervisor") as supervisor,
    ):
        seen = (await op_two.get(base)).json()
        assert seen["owner"] is None and seen["version"] == 1
        claims = await asyncio.gather(
            op_all.post(f"{base}/acknowledge", json={"version": 1}),
            op_two.post(f"{base}/acknowledge", json={"version": 1}),
        )
        assert sorted(c.status_code for c in claims) == [200, 409]
        winner = next(c for c in claims if c.status_code == 200).json()
        loser = next(c for c in claims if c.status_code == 409).json()
        assert loser["error"] in {"owned_by_other", "version_conflict"}
        assert winner["owner"] in loser["detail"][0]["message"]
        owner = op_all if winner["owner"] == "op-all" else op_two
        other = op_two if owner is op_all else op_all
        queue = (await supervisor.get("/api/v1/incidents")).json()
        assert queue[0]["owner"] == winner["owner"]
        stale = await owner.post(f"{base}/dispatch", json={"version": 1})
        assert stale.status_code == 409 and stale.json()["error"] == "version_conflict"
        not_yours = await other.post(f"{base}/resolve", json={"outcome": "other"})
        assert not_yours.status_code == 409 and not_yours.json()["error"] == "owned_by_other"
        other_name = "op-two" if owner is op_all else "op-all"
        moved = await supervisor.post(f"{base}/assign", json={"to": other_name, "version": winner["version"]})
        assert moved.status_code == 200 and moved.json()["owner"] == other_name
        assert moved.json()["timeline"][-1]["type"] == "reassigned"
        shift = await other.post("/api/v1/incidents/handover", json={"to": winner["owner"]})
        assert shift.json() == {"to": winner["owner"], "incident_ids": [incident_id]}
        detail = (await owner.get(base)).json()
        assert detail["owner"] == winner["owner"] and detail["timeline"][-1]["type"] == "handed_over"
        outside = await supervisor.post(f"{base}/assign", json={"to": "nobody"})
        assert outside.status_code == 422
