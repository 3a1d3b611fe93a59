"""Operator API over real HTTP: login, incident transitions, live stream, edge command stream."""

from __future__ import annotations

import httpx
from cloud_harness import PASSWORD, RunningCloud, SseReader, edge_event

from contracts.downlink import AlarmClosed, OperatorAcknowledged
from contracts.intake import COMMANDS_PATH, EdgeCommand, EventKind

INTAKE = "/api/v1/intake/events"
COMMANDS = COMMANDS_PATH.format(edge_id="edge-xiqing-01")


async def test_operator_endpoints_need_login(cloud: RunningCloud) -> None:
    async with cloud.client() as anonymous:
        for path in (
            "/api/v1/incidents",
            "/api/v1/subjects",
            "/api/v1/auth/me",
            "/api/v1/stream",
            "/api/v1/dev/sms",
        ):
            response = await anonymous.get(path)
            assert response.status_code == 401, path
            assert response.json()["error"] == "unauthorized"
        assert (await anonymous.post("/api/v1/incidents/1/acknowledge", json={})).status_code == 401
        wrong = await anonymous.post(
            "/api/v1/auth/login", json={"username": "operator", "password": "nope-nope"}
        )
        assert wrong.status_code == 401
        assert "anxin_session" not in wrong.cookies
        forged = await anonymous.get(
            "/api/v1/auth/me", headers={"Cookie": "anxin_session=eyJ1Ijoib3BlcmF0b3IifQ.AAAA"}
        )
        assert forged.status_code == 401


async def test_login_sets_httponly_cookie_and_logout_ends_it(cloud: RunningCloud) -> None:
    async with cloud.client() as client:
        response = await client.post(
            "/api/v1/auth/login", json={"username": "operator", "password": PASSWORD}
        )
        assert response.status_code == 200
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        me = (await client.get("/api/v1/auth/me")).json()
        assert (me["username"], me["role"], me["all_streets"]) == ("operator", "admin", True)
        stolen = client.cookies["anxin_session"]
        assert (await client.post("/api/v1/auth/logout")).status_code == 204
        assert (await client.get("/api/v1/auth/me")).status_code == 401
    async with cloud.client() as replay:  # the old cookie value is dead on the server, not just deleted
        replayed = await replay.get("/api/v1/auth/me", headers={"Cookie": f"anxin_session={stolen}"})
        assert replayed.status_code == 401


async def test_login_body_is_validated(cloud: RunningCloud) -> None:
    async with cloud.client() as client:
        response = await client.post("/api/v1/auth/login", json={"username": "operator"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == "password"


async def test_acknowledge_sends_operator_ack_on_the_edge_command_stream(
    cloud: RunningCloud, edge: httpx.AsyncClient, operator: httpx.AsyncClient
) -> None:
    incident_id = (await edge.post(INTAKE, json=edge_event("card-0001", 41))).json()["incident_id"]
    async with edge.stream("GET", COMMANDS, timeout=httpx.Timeout(10, read=None)) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        reader = SseReader(stream)
        assert await reader.comment() == "connected"
        response = await operator.post(f"/api/v1/incidents/{incident_id}/acknowledge", json={"eta_min": 8})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "acknowledged"
        event = await reader.until("command")
    command = EdgeCommand.model_validate(event.data)
    assert event.id == str(command.id)
    assert command.device_id == "card-0001"
    assert isinstance(command.downlink, OperatorAcknowledged)
    assert command.downlink.ref_seq == 41
    assert command.downlink.incident_key == "card-0001:41"
    assert command.downlink.operator == "operator"
    assert command.downlink.eta_min == 8
    detail = (await operator.get(f"/api/v1/incidents/{incident_id}")).json()
    assert detail["acknowledged_at"] >= detail["cloud_ts"]
    assert detail["acknowledged_by"] == "operator"


async def test_unacked_commands_are_replayed_and_acked_ones_are_not(
    cloud: RunningCloud, edge: httpx.AsyncClient, operator: httpx.AsyncClient
) -> None:
    incident_id = (await edge.post(INTAKE, json=edge_event("card-0002", 5))).json()["incident_id"]
    await operator.post(f"/api/v1/incidents/{incident_id}/acknowledge", json={})
    await operator.post(f"/api/v1/incidents/{incident_id}/resolve", json={"outcome": "resolved_by_phone"})
    async with edge.stream("GET", COMMANDS, timeout=httpx.Timeout(10, read=None)) as stream:
        reader = SseReader(stream)
        first = EdgeCommand.model_validate((await reader.until("command")).data)
        second = EdgeCommand.model_validate((await reader.until("command")).data)
    assert isinstance(first.downlink, OperatorAcknowledged)
    assert isinstance(second.downlink, AlarmClosed)
    assert second.downlink.outcome == "resolved_by_phone"
    ack = await edge.post(f"{COMMANDS}/{first.id}/ack")
    assert ack.json() == {"id": first.id, "acked": True, "duplicate": False}
    assert (await edge.post(f"{COMMANDS}/{first.id}/ack")).json()["duplicate"] is True
    timeline = (await operator.get(f"/api/v1/incidents/{incident_id}")).json()["timeline"]
    delivered = [t for t in timeline if t["type"] == "command_delivered"]
    assert [(t["actor"], t["data"]["downlink"]) for t in delivered] == [("edge", "operator_ack")]
    headers = {"Last-Event-ID": str(second.id)}
    async with edge.stream("GET", COMMANDS, headers=headers, timeout=httpx.Timeout(10, read=None)) as stream:
        replayed = EdgeCommand.model_validate((await SseReader(stream).until("command")).data)
    assert replayed.id == second.id
    assert (await edge.post(f"{COMMANDS}/999/ack")).status_code == 404


async def test_command_stream_belongs_to_its_edge(cloud: RunningCloud, edge: httpx.AsyncClient) -> None:
    response = await edge.get("/api/v1/edges/edge-other/commands")
    assert response.status_code == 403
    assert response.json()["detail"][0]["field"] == "edge_id"


async def test_live_stream_announces_new_and_updated_incidents(
    cloud: RunningCloud, edge: httpx.AsyncClient, operator: httpx.AsyncClient
) -> None:
    async with operator.stream("GET", "/api/v1/stream", timeout=httpx.Timeout(10, read=None)) as stream:
        reader = SseReader(stream)
        assert await reader.comment() == "connected"
        await edge.post(INTAKE, json=edge_event("wear-0007", 3, EventKind.FALL))
        created = await reader.until("incident.created")
        assert created.data["kind"] == "fall"
        assert created.data["subject"]["masked_name"].endswith("**")
        assert "display_name" not in created.data["subject"]
        listed = (await operator.get("/api/v1/incidents")).json()
        assert listed[0] == created.data
        await operator.post(f"/api/v1/incidents/{created.data['id']}/acknowledge", json={})
        updated = await reader.until("incident.updated")
        assert updated.data["status"] == "acknowledged"


async def test_illegal_transition_is_409(edge: httpx.AsyncClient, operator: httpx.AsyncClient) -> None:
    incident_id = (await edge.post(INTAKE, json=edge_event("card-0008", 1))).json()["incident_id"]
    response = await operator.post(f"/api/v1/incidents/{incident_id}/resolve", json={"outcome": "other"})
    assert response.status_code == 409
    assert response.json()["error"] == "illegal_transition"
    assert response.json()["detail"][0]["field"] == "status"
    bad = await operator.post(f"/api/v1/incidents/{incident_id}/resolve", json={"outcome": "magic"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "outcome"
    assert (await operator.post("/api/v1/incidents/424242/acknowledge", json={})).status_code == 404


async def test_full_lifecycle_with_notes_and_filters(
    edge: httpx.AsyncClient, operator: httpx.AsyncClient
) -> None:
    incident_id = (await edge.post(INTAKE, json=edge_event("card-0009", 1))).json()["incident_id"]
    base = f"/api/v1/incidents/{incident_id}"
    assert (await operator.post(f"{base}/acknowledge", json={"eta_min": 5})).status_code == 200
    assert (await operator.post(f"{base}/dispatch", json={"responder": "网格员-03"})).status_code == 200
    note = await operator.post(f"{base}/notes", json={"text": "已电话联系家属"})
    assert note.status_code == 201
    done = (await operator.post(f"{base}/resolve", json={"outcome": "helped_on_site"})).json()
    assert done["status"] == "resolved" and done["outcome"] == "helped_on_site"
    types = [t["type"] for t in done["timeline"]]
    for expected in ("created", "acknowledged", "dispatched", "note", "resolved"):
        assert expected in types
    assert all(t["at"] > 1_000_000_000_000 for t in done["timeline"])
    assert done["dispatched_at"] <= done["resolved_at"]
    assert done["evidence"][0]["evidence"] == {"trigger": "button"}
    assert done["last_location"]["source"] == "gnss"
    assert (await operator.get("/api/v1/incidents", params={"status": "open"})).json() == []
    closed = (await operator.get("/api/v1/incidents", params={"status": "closed", "kind": "sos"})).json()
    assert [i["id"] for i in closed] == [int(incident_id)]
    bad = await operator.get("/api/v1/incidents", params={"status": "maybe"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "status"


async def test_repeated_wrong_passwords_are_throttled(cloud: RunningCloud) -> None:
    async with cloud.client() as client:
        for _ in range(10):
            wrong = await client.post(
                "/api/v1/auth/login", json={"username": "operator", "password": "guess-1234"}
            )
            assert wrong.status_code == 401
        right = await client.post("/api/v1/auth/login", json={"username": "operator", "password": PASSWORD})
        assert right.status_code == 429
        assert right.json()["error"] == "too_many_requests"
