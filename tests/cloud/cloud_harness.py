"""Test harness for the cloud service: settings, a running server, SSE reading, event builders."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from cloud.settings import CloudSettings
from contracts.identity import event_key, finding_key
from contracts.intake import DEVICE_ALARM_KINDS, EdgeEvent, EventKind, Severity

EDGE_ID = "edge-xiqing-01"
EDGE_TOKEN = "edge-token-0123456789abcdef"
OTHER_EDGE_ID = "edge-other"
OTHER_EDGE_TOKEN = "other-token-0123456789abcdef"
PASSWORD = "s3cure-operator-pw"
WAIT_S = 10.0
T0 = 1_760_000_000_000
# Escalation policies for tests that want the guardian ladder to text its first contact at once.
LADDER_AT_ONCE = {
    severity: {"steps": [{"action": "start_ladder", "after_s": 0.01}], "ladder_wait_s": 600}
    for severity in ("P1", "P2")
}


NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)


CLOUD_DB = os.environ.get("ANXIN_TEST_CLOUD_DB", "sqlite")
BACKENDS = {"sqlite": ["sqlite"], "postgres": ["postgres"], "both": ["sqlite", "postgres"]}
POSTGRES_ADMIN_URL = os.environ.get("ANXIN_TEST_POSTGRES_URL")


def postgres_wanted() -> bool:
    return "postgres" in BACKENDS.get(CLOUD_DB, [])


@contextlib.asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test (dropped afterwards); its URL."""
    if not POSTGRES_ADMIN_URL:
        pytest.fail("ANXIN_TEST_CLOUD_DB asks for PostgreSQL: set ANXIN_TEST_POSTGRES_URL to an admin URL")
    name = f"anxin_test_{secrets.token_hex(4)}"
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def make_settings(tmp_path: Path, **overrides: Any) -> CloudSettings:
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}",
        "edge_tokens": {EDGE_ID: EDGE_TOKEN, OTHER_EDGE_ID: OTHER_EDGE_TOKEN},
        "operator_password": PASSWORD,
        "session_secret": "test-session-secret-0123456789",
        "demo_data": True,
        "sse_keepalive_s": 15.0,
        "password_hash_memory_kib": 8192,
        "password_hash_time_cost": 1,
    }
    values.update(overrides)
    return CloudSettings(**values)


def edge_event(
    device_id: str = "card-0001",
    seq: int = 1,
    kind: EventKind = EventKind.SOS,
    *,
    severity: Severity = Severity.P1,
    ref_key: str | None = None,
    edge_id: str = EDGE_ID,
    device_ts: int = T0,
) -> dict[str, Any]:
    derived = (
        event_key(device_id, seq)
        if kind in DEVICE_ALARM_KINDS
        else finding_key(device_id, seq, 0, kind.value)
    )
    event = EdgeEvent(
        key=derived,
        edge_id=edge_id,
        device_id=device_id,
        seq=seq,
        kind=kind,
        severity=severity,
        device_ts=device_ts,
        edge_ts=device_ts + 150,
        ref_key=ref_key,
        fix={"lat": 39.13, "lon": 117.01, "accuracy_m": 25.0, "source": "gnss"},
        evidence={"trigger": "button"},
    )
    return event.model_dump(mode="json", exclude_none=True)


@dataclass
class SseEvent:
    name: str
    data: Any
    id: str | None


class SseReader:
    """Reads an open SSE response event by event; ``next()`` waits at most ``WAIT_S``."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()
        self.comments: list[str] = []

    async def next(self, wait_s: float = WAIT_S) -> SseEvent:
        return await asyncio.wait_for(self._read(), wait_s)

    async def until(self, name: str, wait_s: float = WAIT_S) -> SseEvent:
        async with asyncio.timeout(wait_s):
            while True:
                event = await self._read()
                if event.name == name:
                    return event

    async def comment(self, wait_s: float = WAIT_S) -> str:
        """Wait for the next comment line (``: connected``, ``: keepalive``)."""
        async with asyncio.timeout(wait_s):
            async for line in self._lines:
                if line.startswith(":"):
                    return line[1:].strip()
        raise EOFError("stream ended")

    async def _read(self) -> SseEvent:
        name, event_id = "message", None
        data: list[str] = []
        async for line in self._lines:
            if line == "":
                if data:
                    return SseEvent(name=name, data=orjson.loads("\n".join(data)), id=event_id)
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
            elif field == "id":
                event_id = value
        raise EOFError("stream ended")


StartCloud = Callable[..., "contextlib.AbstractAsyncContextManager[RunningCloud]"]


@dataclass
class RunningCloud:
    url: str
    settings: CloudSettings
    app: Any = None  # the FastAPI app served (its ``state`` after the lifespan ran)

    async def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Read the service's database directly (SQLite or PostgreSQL): ``:name`` parameters."""
        engine = create_async_engine(self.settings.database_url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return [tuple(row) for row in await conn.execute(text(sql), params)]
        finally:
            await engine.dispose()

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=WAIT_S, **kwargs)

    def edge_client(self, token: str = EDGE_TOKEN) -> httpx.AsyncClient:
        return self.client(headers={"Authorization": f"Bearer {token}"})

    @contextlib.asynccontextmanager
    async def operator_client(self, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
        """A client logged in as ``operator`` (the bootstrap admin, all streets)."""
        async with self.staff_client("operator", **kwargs) as client:
            yield client

    @contextlib.asynccontextmanager
    async def staff_client(
        self, username: str, password: str = PASSWORD, **kwargs: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        """A client logged in as ``username`` (demo: supervisor, op-all, op-two = 西营门 + 李七庄).

        ``kwargs`` go to the client, e.g. ``limits=NO_KEEPALIVE`` for a test that waits on something else
        between requests (a reused connection can meet the server's keep-alive timeout closing it)."""
        async with self.client(**kwargs) as client:
            response = await client.post(
                "/api/v1/auth/login", json={"username": username, "password": password}
            )
            response.raise_for_status()
            yield client
