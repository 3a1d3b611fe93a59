"""Intake over real HTTP on a real SQLite file: idempotency, validation, fusion, device cancel."""

from __future__ import annotations

import asyncio

import httpx
from cloud_harness import OTHER_EDGE_TOKEN, RunningCloud, edge_event

from contracts.intake import EventKind, IntakeAck, Severity

INTAKE = "/api/v1/intake/events"


async def _incidents(operator: httpx.AsyncClient, status: str = "all") -> list[dict[str, object]]:
    response = await operator.get("/api/v1/incidents", params={"status": status})
    assert response.status_code == 200, response.text
    incidents: list[dict[str, object]] = response.json()
    return incidents


async def test_same_key_twice_is_stored_once(edge: httpx.AsyncClient, operator: httpx.AsyncClient) -> None:
    first = await edge.post(INTAKE, json=edge_event())
    assert first.status_code == 201, first.text
    ack = IntakeAck.model_validate(first.json())
    assert ack.key == "card-0001:1" and not ack.duplicate and ack.incident_id
    again = await edge.post(INTAKE, json=edge_event())
    assert again.status_code == 200
    assert IntakeAck.model_validate(again.json()) == IntakeAck(
        key="card-0001:1", incident_id=ack.incident_id, duplicate=True
    )
    incidents = await _incidents(operator)
    assert len(incidents) == 1
    assert incidents[0]["event_count"] == 1


async def test_concurrent_duplicates_yield_one_row(cloud: RunningCloud, operator: httpx.AsyncClient) -> None:
    async with cloud.edge_client() as edge:
        answers = await asyncio.gather(*(edge.post(INTAKE, json=edge_event(seq=7)) for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.json()["incident_id"] for a in answers}) == 1
    detail = (await operator.get(f"/api/v1/incidents/{answers[0].json()['incident_id']}")).json()
    assert [e["key"] for e in detail["evidence"]] == ["card-0001:7"]
    assert len(await _incidents(operator)) == 1


async def test_concurrent_events_of_one_person_fuse_into_one_incident(
    cloud: RunningCloud, operator: httpx.AsyncClient
) -> None:
    async with cloud.edge_client() as edge:
        answers = await asyncio.gather(
            *(
                edge.post(INTAKE, json=edge_event(device, seq))
                for seq in range(1, 4)
                for device in ("card-0002", "wear-0002")
            )
        )
    assert {a.status_code for a in answers} == {201}
    incidents = await _incidents(operator)
    assert len(incidents) == 1
    assert incidents[0]["event_count"] == 6


async def test_unknown_device_is_422_naming_device_id(edge: httpx.AsyncClient) -> None:
    response = await edge.post(INTAKE, json=edge_event("card-9999"))
    assert response.status_code == 422
    assert response.json() == {
        "error": "validation",
        "detail": [{"field": "device_id", "message": "unknown device: register it first"}],
    }


async def test_invalid_body_names_the_field(edge: httpx.AsyncClient) -> None:
    body = edge_event()
    body["seq"] = -1
    response = await edge.post(INTAKE, json=body)
    assert response.status_code == 422
    payload = response.json()
    assert payload["error"] == "validation"
    assert [d["field"] for d in payload["detail"]] == ["seq"]
    assert "-1" not in payload["detail"][0]["message"] or "greater" in payload["detail"][0]["message"]


async def test_edge_credentials_are_checked(cloud: RunningCloud) -> None:
    async with cloud.client() as anonymous:
        response = await anonymous.post(INTAKE, json=edge_event())
        assert response.status_code == 401
        assert response.json()["detail"][0]["field"] == "authorization"
    async with cloud.edge_client("wrong-token-0123456789abcdef") as stranger:
        assert (await stranger.post(INTAKE, json=edge_event())).status_code == 401
    async with cloud.edge_client(OTHER_EDGE_TOKEN) as other:
        response = await other.post(INTAKE, json=edge_event())
        assert response.status_code == 403
        assert response.json()["detail"][0]["field"] == "edge_id"


async def test_fusion_joins_same_kind_and_separates_other_kinds(
    edge: httpx.AsyncClient, operator: httpx.AsyncClient
) -> None:
    # card and wearable of the same elder: one SOS incident
    await edge.post(INTAKE, json=edge_event("card-0003", 1))
    await edge.post(INTAKE, json=edge_event("wear-0003", 1))
    # the gateway's fall detector and the device's own fall suspicion: one fall incident
    await edge.post(INTAKE, json=edge_event("wear-0003", 2, EventKind.FALL))
    await edge.post(INTAKE, json=edge_event("wear-0003", 3, EventKind.FALL_DEVICE))
    # a low-severity vitals drift, then an urgent one: severity rises to P2
    await edge.post(INTAKE, json=edge_event("wear-0003", 4, EventKind.VITALS_DRIFT, severity=Severity.P3))
    await edge.post(INTAKE, json=edge_event("wear-0003", 5, EventKind.HR_HIGH, severity=Severity.P2))
    incidents = {i["kind"]: i for i in await _incidents(operator, "open")}
    assert set(incidents) == {"sos", "fall", "vitals"}
    assert incidents["sos"]["event_count"] == 2
    assert incidents["fall"]["event_count"] == 2
    assert incidents["vitals"]["severity"] == "P2"
    detail = (await operator.get(f"/api/v1/incidents/{incidents['vitals']['id']}")).json()
    types = [t["type"] for t in detail["timeline"] if not t["type"].startswith("sms_")]
    # opened at P3; becoming urgent restarts its escalation with the P2 policy (no SMS at once: the
    # guardian ladder starts if nobody claims it in time, see test_cloud_escalation.py)
    assert types == ["created", "severity_raised", "event_joined"]
    assert detail["notifications"] == []


async def test_closed_incident_does_not_absorb_new_events(
    edge: httpx.AsyncClient, operator: httpx.AsyncClient
) -> None:
    first = (await edge.post(INTAKE, json=edge_event("card-0004", 1))).json()["incident_id"]
    assert (await operator.post(f"/api/v1/incidents/{first}/false-alarm")).status_code == 200
    second = (await edge.post(INTAKE, json=edge_event("card-0004", 2))).json()["incident_id"]
    assert second != first
    assert [i["id"] for i in await _incidents(operator, "open")] == [int(second)]
    assert [i["id"] for i in await _incidents(operator, "closed")] == [int(first)]


async def test_sos_cancel_closes_the_referenced_incident(
    edge: httpx.AsyncClient, operator: httpx.AsyncClient
) -> None:
    opened = (await edge.post(INTAKE, json=edge_event("card-0005", 10))).json()
    cancel = edge_event("card-0005", 11, EventKind.SOS_CANCEL, ref_key="card-0005:10")
    response = await edge.post(INTAKE, json=cancel)
    assert response.status_code == 201
    assert response.json()["incident_id"] == opened["incident_id"]
    detail = (await operator.get(f"/api/v1/incidents/{opened['incident_id']}")).json()
    assert detail["status"] == "cancelled"
    assert detail["outcome"] == "cancelled_on_device"
    assert detail["resolved_at"] is not None
    cancelled = [t for t in detail["timeline"] if t["type"] == "cancelled"]
    assert cancelled and cancelled[0]["actor"] == "device"
    # the device is told the alarm is over, right after the cancel
    types = [t["type"] for t in detail["timeline"] if not t["type"].startswith("sms_")]
    assert types[types.index("cancelled") + 1] == "command_queued"
    queued = [t["data"]["downlink"] for t in detail["timeline"] if t["type"] == "command_queued"]
    assert queued == ["alarm_closed"]
    # the cancel is idempotent too
    assert (await edge.post(INTAKE, json=cancel)).json()["duplicate"] is True
    # cancelling again (new seq) is noted but changes nothing
    again = await edge.post(
        INTAKE, json=edge_event("card-0005", 12, EventKind.SOS_CANCEL, ref_key="card-0005:10")
    )
    assert again.status_code == 201
    detail = (await operator.get(f"/api/v1/incidents/{opened['incident_id']}")).json()
    assert detail["status"] == "cancelled"
    assert [t["type"] for t in detail["timeline"]].count("cancel_ignored") == 1  # sms_sent may come later
    assert [t["type"] for t in detail["timeline"]].count("command_queued") == 1  # nothing new to tell


async def test_cancel_without_anything_open_is_recorded(edge: httpx.AsyncClient) -> None:
    response = await edge.post(
        INTAKE, json=edge_event("card-0006", 3, EventKind.SOS_CANCEL, ref_key="card-0006:2")
    )
    assert response.status_code == 201
    assert response.json() == {"key": "card-0006:3", "incident_id": "", "duplicate": False}
