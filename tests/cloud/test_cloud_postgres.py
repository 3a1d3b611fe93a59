"""The same intake idempotency on PostgreSQL, in a fresh database with the migrations run.

Set ``ANXIN_TEST_POSTGRES_URL`` (e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``) to run.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from cloud_harness import StartCloud, edge_event, fresh_postgres_database, postgres_wanted

pytestmark = pytest.mark.postgres

ADMIN_URL = os.environ.get("ANXIN_TEST_POSTGRES_URL")


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    if not ADMIN_URL and not postgres_wanted():
        pytest.skip(
            "set ANXIN_TEST_POSTGRES_URL=postgresql+asyncpg://user@host:port/db to run PostgreSQL tests"
        )
    async with fresh_postgres_database() as url:  # fails (never skips) when PostgreSQL was asked for
        yield url


async def test_intake_idempotency_on_postgres(start_cloud: StartCloud, postgres_url: str) -> None:
    async with (
        start_cloud(database_url=postgres_url) as cloud,
        cloud.edge_client() as edge,
        cloud.operator_client() as operator,
    ):
        first = await edge.post("/api/v1/intake/events", json=edge_event(seq=1))
        assert first.status_code == 201, first.text
        again = await edge.post("/api/v1/intake/events", json=edge_event(seq=1))
        assert again.status_code == 200 and again.json()["duplicate"] is True
        answers = await asyncio.gather(
            *(edge.post("/api/v1/intake/events", json=edge_event("card-0002", 9)) for _ in range(8))
        )
        assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
        fused = await asyncio.gather(
            *(edge.post("/api/v1/intake/events", json=edge_event("wear-0003", s)) for s in range(1, 6))
        )
        assert {a.status_code for a in fused} == {201}
        incidents = (await operator.get("/api/v1/incidents", params={"status": "all"})).json()
        assert sorted(i["event_count"] for i in incidents) == [1, 1, 5]


async def test_migrations_match_the_models_on_postgres(postgres_url: str) -> None:
    from test_cloud_migrations import _diff

    from cloud.db import open_database

    db = await open_database(postgres_url)
    try:
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await db.close()
