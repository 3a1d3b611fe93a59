"""Two center workers on one PostgreSQL database: each a real uvicorn server with its own app, hub and
background jobs; they share nothing but the database (live events through LISTEN/NOTIFY).

Set ``ANXIN_TEST_POSTGRES_URL`` (e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``) to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cloud_harness import (
    EDGE_ID,
    EDGE_TOKEN,
    LADDER_AT_ONCE,
    PASSWORD,
    T0,
    RunningCloud,
    SseReader,
    StartCloud,
    edge_event,
    fresh_postgres_database,
    make_settings,
    postgres_wanted,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from broker.runner import free_port
from cloud.db import RETENTION_LOCK, open_database, try_job_lock
from cloud.live.hub import OPERATORS, LiveEvent
from cloud.live.relay import PostgresRelay, application_name
from cloud.retention.policy import RetentionPolicy
from cloud.retention.purge import PurgeResult, purge_batch

pytestmark = pytest.mark.postgres

ADMIN_URL = os.environ.get("ANXIN_TEST_POSTGRES_URL")
INTAKE = "/api/v1/intake/events"
OP_TWO_STREETS = {"xiyingmen", "liqizhuang"}  # the demo operator of two streets
WAIT_S = 15.0
STARTUP_S = 90.0


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    if not ADMIN_URL and not postgres_wanted():
        pytest.skip(
            "set ANXIN_TEST_POSTGRES_URL=postgresql+asyncpg://user@host:port/db to run PostgreSQL tests"
        )
    async with fresh_postgres_database() as url:
        yield url


@contextlib.asynccontextmanager
async def two_workers(
    start_cloud: StartCloud, url: str, **overrides: Any
) -> AsyncIterator[tuple[RunningCloud, RunningCloud]]:
    """Two workers started together on a fresh database (their migrations and seeding race), each
    listening for the other's live events before it is handed out."""
    async with (
        start_cloud(database_url=url, **overrides) as a,
        start_cloud(database_url=url, **overrides) as b,
    ):
        async with asyncio.timeout(STARTUP_S):
            for worker in (a, b):
                # answered once the lifespan has run (migrations, seeding: slow on a loaded machine)
                async with httpx.AsyncClient(base_url=worker.url, timeout=STARTUP_S) as client:
                    health = await client.get("/healthz")
                    assert health.status_code == 200, health.text
                relay: PostgresRelay = worker.app.state.live_relay
                await relay.listening.wait()
        assert a.app.state.live_relay.worker_id != b.app.state.live_relay.worker_id
        yield a, b


@contextlib.asynccontextmanager
async def live(client: httpx.AsyncClient) -> AsyncIterator[SseReader]:
    async with client.stream("GET", "/api/v1/stream", timeout=httpx.Timeout(10, read=None)) as stream:
        reader = SseReader(stream)
        await reader.comment()  # connected: subscribed to the hub
        yield reader


async def _incident_events_until(reader: SseReader, incident_id: int) -> list[int]:
    """The ids of every ``incident.created`` read until the one of ``incident_id`` (included)."""
    seen: list[int] = []
    async with asyncio.timeout(WAIT_S):
        while not seen or seen[-1] != incident_id:
            event = await reader.next()
            if event.name == "incident.created":
                seen.append(event.data["id"])
    return seen


async def test_an_event_posted_to_one_worker_reaches_the_other_workers_console_once(
    start_cloud: StartCloud, postgres_url: str
) -> None:
    async with (
        two_workers(start_cloud, postgres_url) as (a, b),
        a.edge_client() as edge_a,
        b.operator_client() as operator_b,
        a.operator_client() as operator_a,
        live(operator_b) as stream_b,
        live(operator_a) as stream_a,
    ):
        first = await edge_a.post(INTAKE, json=edge_event("card-0001", 1))
        assert first.status_code == 201, first.text
        marker = await edge_a.post(INTAKE, json=edge_event("card-0002", 1))
        assert marker.status_code == 201, marker.text
        first_id, marker_id = int(first.json()["incident_id"]), int(marker.json()["incident_id"])
        # in order, each once: a duplicate of the first would come before the marker (one sender, in order)
        assert await _incident_events_until(stream_b, marker_id) == [first_id, marker_id]
        assert await _incident_events_until(stream_a, marker_id) == [first_id, marker_id]
        detail = (await operator_b.get(f"/api/v1/incidents/{first_id}")).json()
        assert detail["device_id"] == "card-0001"
        sent = a.app.state.metrics.live_relay.labels("sent")._value.get()
        received = b.app.state.metrics.live_relay.labels("received")._value.get()
        assert sent >= 2 and received >= 2


async def test_an_event_too_large_to_notify_goes_by_reference_and_the_other_worker_loads_it(
    start_cloud: StartCloud, postgres_url: str
) -> None:
    async with (
        two_workers(start_cloud, postgres_url) as (a, b),
        a.edge_client() as edge_a,
        b.operator_client() as operator_b,
        live(operator_b) as stream_b,
    ):
        posted = await edge_a.post(INTAKE, json=edge_event("card-0001", 1))
        incident_id = int(posted.json()["incident_id"])
        assert await _incident_events_until(stream_b, incident_id) == [incident_id]
        engine = create_async_engine(postgres_url, poolclass=NullPool)
        try:  # a change only a load from the database can show
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE incidents SET responder = 'loaded' WHERE id = :id"), {"id": incident_id}
                )
        finally:
            await engine.dispose()
        oversized = {"id": incident_id, "padding": "安" * 4_000}  # 12 kB: over NOTIFY's 8,000 bytes
        a.app.state.hub.publish(OPERATORS, LiveEvent(name="incident.updated", data=oversized))
        updated = await stream_b.until("incident.updated")
        assert updated.data["id"] == incident_id and "padding" not in updated.data
        assert updated.data["device_id"] == "card-0001" and updated.data["responder"] == "loaded"


@pytest.mark.expect_logged_errors("live.relay_lost")
async def test_a_worker_whose_relay_connection_is_killed_reconnects_and_makes_its_consoles_reload(
    start_cloud: StartCloud, postgres_url: str
) -> None:
    """PostgreSQL ends worker B's LISTEN connection: B keeps serving, reconnects, ends its operators'
    streams (they may have missed events: the console reloads on reconnect), and relays again."""
    async with (
        two_workers(start_cloud, postgres_url) as (a, b),
        a.edge_client() as edge_a,
        b.operator_client() as operator_b,
    ):
        relay_b: PostgresRelay = b.app.state.live_relay
        async with live(operator_b) as stream_b:
            killed = await a.rows(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name",
                name=application_name(relay_b.worker_id),
            )
            assert killed == [(True,)]
            with pytest.raises(EOFError):  # ended by B once it listens again
                await stream_b.next(wait_s=WAIT_S)
        assert relay_b.listening.is_set()
        health = (await operator_b.get("/healthz")).json()
        assert health == {"status": "ok", "live_relay": "listening", "worker": relay_b.worker_id}
        assert b.app.state.metrics.live_relay.labels("reconnected")._value.get() == 1
        async with live(operator_b) as stream_b:
            posted = await edge_a.post(INTAKE, json=edge_event("card-0003", 1))
            assert posted.status_code == 201, posted.text
            incident_id = int(posted.json()["incident_id"])
            assert await _incident_events_until(stream_b, incident_id) == [incident_id]


async def test_out_of_scope_events_stay_off_a_scoped_operators_stream_on_the_other_worker(
    start_cloud: StartCloud, postgres_url: str
) -> None:
    async with two_workers(start_cloud, postgres_url) as (a, b), a.operator_client() as admin:
        streets = {s["id"]: s["code"] for s in (await admin.get("/api/v1/streets")).json()}
        subjects = (await admin.get("/api/v1/subjects", params={"limit": 500})).json()
        by_scope: dict[bool, str] = {}
        for subject in subjects:
            if subject["device_ids"]:
                in_scope = streets[subject["community"]["street_id"]] in OP_TWO_STREETS
                by_scope.setdefault(in_scope, subject["device_ids"][0])
        async with (
            a.edge_client() as edge_a,
            b.staff_client("op-two") as scoped_b,
            live(scoped_b) as stream_b,
        ):
            outside = await edge_a.post(INTAKE, json=edge_event(by_scope[False], 1))
            inside = await edge_a.post(INTAKE, json=edge_event(by_scope[True], 1))
            assert outside.status_code == inside.status_code == 201
            inside_id = int(inside.json()["incident_id"])
            assert await _incident_events_until(stream_b, inside_id) == [inside_id]


async def test_the_same_intake_key_posted_to_both_workers_at_once_makes_one_incident(
    start_cloud: StartCloud, postgres_url: str
) -> None:
    async with (
        two_workers(start_cloud, postgres_url) as (a, b),
        a.edge_client() as edge_a,
        b.edge_client() as edge_b,
    ):
        devices = [f"card-{i:04d}" for i in range(1, 11)]
        answers = await asyncio.gather(
            *(
                edge.post(INTAKE, json=edge_event(device, 5))
                for device in devices
                for edge in (edge_a, edge_b, edge_a, edge_b)
            )
        )
        for index in range(len(devices)):
            mine = answers[index * 4 : index * 4 + 4]
            assert sorted(r.status_code for r in mine) == [200, 200, 200, 201], [r.text for r in mine]
            assert len({r.json()["incident_id"] for r in mine}) == 1
        rows = await a.rows("SELECT device_id, count(*) FROM incidents GROUP BY device_id")
        assert sorted(rows) == [(device, 1) for device in devices]
        events = await a.rows("SELECT count(*) FROM edge_events")
        assert events == [(len(devices),)]


async def test_escalation_timers_fire_once_and_each_text_is_sent_once_across_workers(
    start_cloud: StartCloud, postgres_url: str
) -> None:
    """Ten incidents whose policy texts the first guardian at once, opened on both workers: both
    schedulers and both outboxes race for the same rows; each timer fires once, each text goes once."""
    async with (
        two_workers(start_cloud, postgres_url, escalation_policies=LADDER_AT_ONCE) as (a, b),
        a.edge_client() as edge_a,
        b.edge_client() as edge_b,
        a.operator_client() as operator_a,
        live(operator_a) as stream_a,
    ):
        devices = [f"card-{i:04d}" for i in range(1, 11)]
        answers = await asyncio.gather(
            *(
                (edge_a if i % 2 else edge_b).post(INTAKE, json=edge_event(device, 1))
                for i, device in enumerate(devices)
            )
        )
        assert {r.status_code for r in answers} == {201}
        incident_ids = sorted(int(r.json()["incident_id"]) for r in answers)
        texted: list[int] = []
        async with asyncio.timeout(WAIT_S):  # every text, from either worker, on worker A's stream
            while len(texted) < len(devices):
                sent = await stream_a.until("sms.sent")
                texted.append(sent.data["guardian_id"])
        assert len(set(texted)) == len(devices)
        notes = await a.rows(
            "SELECT incident_id, count(*), min(status), max(attempts) FROM notifications "
            "GROUP BY incident_id ORDER BY incident_id"
        )
        assert notes == [(i, 1, "sent", 1) for i in incident_ids]
        sms = await a.rows("SELECT count(*), count(DISTINCT to_phone) FROM console_sms")
        assert sms == [(len(devices), len(devices))]
        fired = await a.rows(
            "SELECT incident_id, count(*) FROM escalation_timers WHERE state = 'fired' "
            "GROUP BY incident_id ORDER BY incident_id"
        )
        assert fired == [(i, 1) for i in incident_ids]
        entries = await a.rows(
            "SELECT incident_id, count(*) FROM incident_timeline WHERE type = 'sms_sent' "
            "GROUP BY incident_id ORDER BY incident_id"
        )
        assert entries == [(i, 1) for i in incident_ids]


async def test_one_worker_at_a_time_takes_the_retention_purge(postgres_url: str) -> None:
    db = await open_database(postgres_url)
    try:
        async with db.sessions() as holder:
            assert await try_job_lock(holder, RETENTION_LOCK)
            async with db.reads() as other:
                assert not await try_job_lock(other, RETENTION_LOCK)
                nothing = await purge_batch(session=other, policy=RetentionPolicy(incident_days=1), now_ms=T0)
                assert nothing == PurgeResult()
            await holder.commit()
        async with db.sessions() as later:
            assert await try_job_lock(later, RETENTION_LOCK)  # released with the holder's transaction
    finally:
        await db.close()


async def test_anxin_cloud_workers_runs_two_processes_on_one_port(postgres_url: str) -> None:
    """The real command line: ``anxin cloud --workers 2`` on PostgreSQL; both workers serve the port,
    events reach an operator's stream whichever worker takes them, and SIGTERM stops the set cleanly."""
    port = free_port()
    env = {
        **os.environ,
        "ANXIN_CLOUD_DATABASE_URL": postgres_url,
        "ANXIN_CLOUD_DEMO_DATA": "true",
        "ANXIN_CLOUD_OPERATOR_PASSWORD": PASSWORD,
        "ANXIN_CLOUD_EDGE_TOKENS": orjson.dumps({EDGE_ID: EDGE_TOKEN}).decode(),
        "ANXIN_CLOUD_PASSWORD_HASH_MEMORY_KIB": "8192",
        "ANXIN_CLOUD_PASSWORD_HASH_TIME_COST": "1",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "anxin", "cloud", "--workers", "2", "--port", str(port),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(90):  # two spawned interpreters start on a loaded machine
            while sum("cloud.started" in line for line in lines) < 2:
                line = (await proc.stderr.readline()).decode(errors="replace")
                assert line, "".join(lines[-30:])
                lines.append(line)
        drain = asyncio.create_task(_collect(proc.stderr, lines))
        workers = {line.rsplit("live_relay=", 1)[1].strip() for line in lines if "cloud.started" in line}
        assert len(workers) == 2
        cloud = RunningCloud(url=f"http://127.0.0.1:{port}", settings=make_settings(Path(".")))
        async with cloud.operator_client() as operator, live(operator) as stream:
            ids = []
            for seq, device in enumerate(("card-0001", "card-0002", "card-0003", "card-0004"), start=1):
                async with cloud.edge_client() as edge:  # a new connection each: either worker takes it
                    posted = await edge.post(INTAKE, json=edge_event(device, seq))
                assert posted.status_code == 201, posted.text
                ids.append(int(posted.json()["incident_id"]))
            assert await _incident_events_until(stream, ids[-1]) == ids
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
    await drain
    assert code == 0, "".join(lines[-30:])
    assert sum("cloud.stopped" in line for line in lines) == 2


async def _collect(stream: asyncio.StreamReader, lines: list[str]) -> None:
    async for line in stream:
        lines.append(line.decode(errors="replace"))
