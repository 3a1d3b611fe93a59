"""The same intake idempotency on PostgreSQL, in a fresh database with the migrations run.

Set ``ANXIN_TEST_POSTGRES_URL`` (e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``) to run.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator

import pytest
from cloud_harness import StartCloud, edge_event
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.postgres

ADMIN_URL = os.environ.get("ANXIN_TEST_POSTGRES_URL")


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    if not ADMIN_URL:
        pytest.skip(
            "set ANXIN_TEST_POSTGRES_URL=postgresql+asyncpg://user@host:port/db to run PostgreSQL tests"
        )
    name = f"anxin_test_{secrets.token_hex(4)}"
    admin = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


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


async def test_intake_authority_and_unassigned_alarms_on_postgres(
    start_cloud: StartCloud, postgres_url: str
) -> None:
    from cloud_harness import OTHER_EDGE_TOKEN

    async with (
        start_cloud(database_url=postgres_url) as cloud,
        cloud.edge_client() as edge,
        cloud.edge_client(OTHER_EDGE_TOKEN) as other,
        cloud.operator_client() as operator,
    ):
        foreign = await other.post("/api/v1/intake/events", json=edge_event(edge_id="edge-other"))
        assert foreign.status_code == 403 and foreign.json()["detail"][0]["field"] == "device_id"
        taken = {**edge_event(seq=3), "key": "card-0001:4"}
        assert (await edge.post("/api/v1/intake/events", json=taken)).status_code == 422
        unknown = await edge.post("/api/v1/intake/events", json=edge_event("stranger-1", 1))
        assert unknown.status_code == 201
        flagged = {**edge_event(edge_id="edge-other"), "unassigned": True}
        assert (await other.post("/api/v1/intake/events", json=flagged)).status_code == 201
        real = await edge.post("/api/v1/intake/events", json=edge_event())
        assert real.status_code == 201 and real.json()["duplicate"] is False
        items = (await operator.get("/api/v1/incidents", params={"status": "all"})).json()
        assert sorted((i["device_id"], i["unassigned_reason"] or "") for i in items) == [
            ("card-0001", ""),
            ("card-0001", "other_gateway"),
            ("stranger-1", "unknown_device"),
        ]


async def test_migration_0005_up_and_down_on_postgres(postgres_url: str) -> None:
    from test_cloud_migration_0005 import upgrade_and_downgrade_with_data

    await upgrade_and_downgrade_with_data(postgres_url)


async def test_retention_purge_on_postgres(postgres_url: str) -> None:
    from test_cloud_retention import NOW, POLICY, _world

    from cloud.db import open_database
    from cloud.incidents.models import Incident
    from cloud.retention.purge import purge_expired

    db = await open_database(postgres_url)
    try:
        ids = await _world(db)
        result = await purge_expired(sessions=db.sessions, policy=POLICY, now_ms=NOW)
        assert (result.incidents, result.console_sms, result.commands) == (1, 1, 1)
        async with db.sessions() as session:
            left = set(await session.scalars(select(Incident.id)))
        assert left == {ids["kept"], ids["open"]}
    finally:
        await db.close()
