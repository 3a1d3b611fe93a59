"""Batch intake over real HTTP on a real SQLite file: each event answered as if posted alone."""

from __future__ import annotations

import httpx
from cloud_harness import OTHER_EDGE_ID, edge_event

from contracts.intake import INTAKE_BATCH_PATH, INTAKE_PATH, EventKind, IntakeBatchAck, Severity


async def test_a_batch_answers_each_event_as_the_single_post_would(
    edge: httpx.AsyncClient, operator: httpx.AsyncClient
) -> None:
    first = await edge.post(INTAKE_PATH, json=edge_event("card-0001", 1))
    assert first.status_code == 201
    events = [
        edge_event("card-0001", 1),  # already stored: duplicate, same incident
        edge_event("card-0001", 2),  # joins the open SOS
        edge_event("card-0003", 5),  # another person: a new incident
        edge_event("card-0003", 5),  # repeated inside the batch: duplicate
        edge_event("card-0004", 1, edge_id=OTHER_EDGE_ID),  # not this token's gateway
        {**edge_event("card-0005", 9), "key": "card-0005:8"},  # key not derived from the body
        edge_event("ghost-0001", 3, EventKind.HR_HIGH, severity=Severity.P2),  # unknown device
        edge_event("card-0001", 3, EventKind.SOS_CANCEL, ref_key="card-0001:1"),  # closes the SOS
    ]
    response = await edge.post(INTAKE_BATCH_PATH, json={"events": events})
    assert response.status_code == 200, response.text
    results = IntakeBatchAck.model_validate(response.json()).results
    assert [r.status for r in results] == [200, 201, 201, 200, 403, 422, 422, 201]
    assert [r.key for r in results] == [e["key"] for e in events]
    opened = first.json()["incident_id"]
    assert results[0].incident_id == results[1].incident_id == results[7].incident_id == opened
    assert results[0].duplicate and results[3].duplicate and not results[2].duplicate
    assert results[2].incident_id == results[3].incident_id != opened
    assert results[4].error and results[5].error and not results[4].incident_id
    listed = (await operator.get("/api/v1/incidents", params={"status": "all"})).json()
    counts = {str(i["id"]): i["event_count"] for i in listed}
    assert counts == {opened: 2, results[2].incident_id: 1}  # a cancel is not an alarm event
    closed = (await operator.get(f"/api/v1/incidents/{opened}")).json()
    assert closed["status"] != "open"


async def test_a_batch_repeated_is_all_duplicates(edge: httpx.AsyncClient) -> None:
    events = [edge_event("card-0002", seq) for seq in range(1, 6)]
    first = IntakeBatchAck.model_validate(
        (await edge.post(INTAKE_BATCH_PATH, json={"events": events})).json()
    )
    again = IntakeBatchAck.model_validate(
        (await edge.post(INTAKE_BATCH_PATH, json={"events": events})).json()
    )
    assert [r.status for r in first.results] == [201] * 5
    assert [r.status for r in again.results] == [200] * 5
    assert [r.incident_id for r in again.results] == [r.incident_id for r in first.results]


async def test_an_empty_or_oversized_batch_is_refused(edge: httpx.AsyncClient) -> None:
    assert (await edge.post(INTAKE_BATCH_PATH, json={"events": []})).status_code == 422
    many = [edge_event("card-0002", seq) for seq in range(1, 502)]
    assert (await edge.post(INTAKE_BATCH_PATH, json={"events": many})).status_code == 422
