from __future__ import annotations

import httpx
from cloud_harness import edge_event


async def test_health_and_intake(operator: httpx.AsyncClient, edge: httpx.AsyncClient) -> None:
    assert (await operator.get("/healthz")).json() == {"status": "ok"}
    r = await edge.post("/api/v1/intake/events", json=edge_event())
    assert r.status_code == 201, r.text
    r2 = await edge.post("/api/v1/intake/events", json=edge_event())
    assert r2.status_code == 200 and r2.json()["duplicate"] is True
    incidents = (await operator.get("/api/v1/incidents")).json()
    assert len(incidents) == 1
    print(incidents[0])
