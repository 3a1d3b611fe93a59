"""Degraded mode at the center: the snapshot gives the edge what it needs to text guardians itself
(masked name, guardians), and an event naming guardians the edge texted is reconciled without a second
SMS to them (timeline ``guardians_notified_by_edge``; their texts recorded as sent notifications, which the
guardian ladder skips)."""

from __future__ import annotations

from typing import Any

import httpx
from cloud_harness import LADDER_AT_ONCE, SseReader, StartCloud, edge_event

from contracts.guardians import EdgeNotice, GuardianContact

INTAKE = "/api/v1/intake/events"
SNAPSHOT = "/api/v1/edges/edge-xiqing-01/devices"


async def _person(
    operator: httpx.AsyncClient, device_id: str, *, at_least: int = 2
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    subjects = (await operator.get("/api/v1/subjects", params={"limit": 500})).json()
    [subject] = [s for s in subjects if device_id in s["device_ids"]]
    guardians = (await operator.get(f"/api/v1/subjects/{subject['id']}/guardians")).json()
    assert len(guardians) >= at_least, f"the demo person needs {at_least} guardians for this test"
    return subject, guardians


def _with_notices(body: dict[str, Any], guardian_ids: list[int], at_ms: int) -> dict[str, Any]:
    notices = [EdgeNotice(guardian_id=g, at_ms=at_ms).model_dump(mode="json") for g in guardian_ids]
    return {**body, "edge_notified": notices}


async def _detail(operator: httpx.AsyncClient, incident_id: str) -> dict[str, Any]:
    detail: dict[str, Any] = (await operator.get(f"/api/v1/incidents/{incident_id}")).json()
    return detail


async def test_snapshot_carries_masked_name_and_guardian_contacts(start_cloud: StartCloud) -> None:
    async with start_cloud() as cloud, cloud.operator_client() as operator, cloud.edge_client() as edge:
        subject, guardians = await _person(operator, "card-0001")
        [entry] = [d for d in (await edge.get(SNAPSHOT)).json() if d["device_id"] == "card-0001"]
    assert entry["masked_name"] == subject["masked_name"] and entry["masked_name"].endswith("**")
    assert subject["display_name"] not in str(entry)
    contacts = [GuardianContact.model_validate(g) for g in entry["guardians"]]
    assert [c.guardian_id for c in contacts] == [g["id"] for g in guardians]  # priority order
    assert [c.phone for c in contacts] == [g["phone"] for g in guardians]
    assert set(entry["guardians"][0]) == {"guardian_id", "phone", "language", "priority"}  # no names


async def test_guardians_texted_by_the_edge_are_skipped_by_the_ladder(start_cloud: StartCloud) -> None:
    """The edge's texts become sent notifications (contact guardian:<id>, sms); the ladder, deciding from
    those rows alone, passes over them and texts the first contact not reached yet (only that one)."""
    async with (
        start_cloud(escalation_policies=LADDER_AT_ONCE) as cloud,
        cloud.operator_client() as operator,
        cloud.edge_client() as edge,
    ):
        _, guardians = await _person(operator, "card-0001")
        texted, others = [guardians[0]["id"]], [g["id"] for g in guardians[1:]]
        async with operator.stream("GET", "/api/v1/stream", timeout=httpx.Timeout(10, read=None)) as stream:
            reader = SseReader(stream)
            await reader.comment()
            body = _with_notices(edge_event("card-0001", 1), texted, at_ms=1_760_000_030_000)
            answer = await edge.post(INTAKE, json=body)
            assert answer.status_code == 201, answer.text
            sent = await reader.until("sms.sent")
        assert sent.data["guardian_id"] == others[0]
        detail = await _detail(operator, answer.json()["incident_id"])
        [entry] = [e for e in detail["timeline"] if e["type"] == "guardians_notified_by_edge"]
        assert entry["actor"] == "edge" and entry["at"] == 1_760_000_030_000
        assert entry["data"]["guardian_ids"] == texted and entry["data"]["key"] == "card-0001:1"
        [skipped] = [e for e in detail["timeline"] if e["type"] == "ladder_skipped"]
        assert skipped["data"]["contact"] == f"guardian:{texted[0]}" and skipped["data"]["channel"] == "sms"
        by_kind = _notes_by_kind(detail)
        assert [(n["status"], n["channel"], n["sent_at"]) for n in by_kind["edge"]] == [
            ("sent", "sms", 1_760_000_030_000)
        ]
        assert len(by_kind["ladder"]) == 1  # one contact at a time
        phones = {p["guardian_id"] for p in (await operator.get("/api/v1/dev/sms")).json()}
        assert phones == {others[0]}  # the center never texted the guardian the edge texted
        # the same event again (the edge never saw the answer): nothing new
        again = await edge.post(INTAKE, json=body)
        assert again.status_code == 200 and again.json()["duplicate"]
        detail = await _detail(operator, answer.json()["incident_id"])
        assert [e["type"] for e in detail["timeline"]].count("guardians_notified_by_edge") == 1
        assert len(_notes_by_kind(detail)["edge"]) == 1


async def test_a_repeat_naming_edge_texts_is_noted_and_skips_queued_sms(start_cloud: StartCloud) -> None:
    """The center stored the event but its answer was lost; the edge texted, then sent it again."""
    async with (
        start_cloud(escalation_policies=LADDER_AT_ONCE) as cloud,
        cloud.operator_client() as operator,
        cloud.edge_client() as edge,
    ):
        _, guardians = await _person(operator, "card-0002", at_least=1)
        first = await edge.post(INTAKE, json=edge_event("card-0002", 5))
        assert first.status_code == 201
        ids = [g["id"] for g in guardians]
        repeat = _with_notices(edge_event("card-0002", 5), ids, at_ms=1_760_000_031_000)
        again = await edge.post(INTAKE, json=repeat)
        assert again.status_code == 200 and again.json()["duplicate"]
        detail = await _detail(operator, first.json()["incident_id"])
    [entry] = [e for e in detail["timeline"] if e["type"] == "guardians_notified_by_edge"]
    assert sorted(entry["data"]["guardian_ids"]) == sorted(ids)
    by_kind = _notes_by_kind(detail)
    assert len(by_kind["edge"]) == len(ids) and {n["status"] for n in by_kind["edge"]} == {"sent"}
    # the ladder's SMS was either already sent (nothing to undo) or skipped, never sent after; a ladder that
    # starts after the repeat skips every guardian's SMS and goes on to its voice calls
    assert {n["status"] for n in by_kind["ladder"] if n["channel"] == "sms"} <= {"sent", "skipped"}


async def test_edge_notices_name_only_the_persons_own_guardians(start_cloud: StartCloud) -> None:
    """A guardian id of someone else's guardian (or none at all) records no notification for this alarm."""
    async with start_cloud() as cloud, cloud.operator_client() as operator, cloud.edge_client() as edge:
        _, mine = await _person(operator, "card-0001")
        _, theirs = await _person(operator, "card-0002", at_least=1)
        body = _with_notices(edge_event("card-0001", 3), [mine[0]["id"], theirs[0]["id"], 999_999], 1)
        answer = await edge.post(INTAKE, json=body)
        assert answer.status_code == 201, answer.text
        detail = await _detail(operator, answer.json()["incident_id"])
    assert len(_notes_by_kind(detail)["edge"]) == 1


def _notes_by_kind(detail: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {"edge": [], "ladder": []}
    for note in detail["notifications"]:
        kinds.setdefault(note["kind"], []).append(note)
    return kinds
