"""Fixtures for the cloud tests: the real service under uvicorn on a free port, on a SQLite file or a
fresh PostgreSQL database.

``ANXIN_TEST_CLOUD_DB=sqlite|postgres|both`` (default sqlite) picks the databases every cloud test runs
on; ``both`` runs the whole suite twice. PostgreSQL comes from ``ANXIN_TEST_POSTGRES_URL`` (an admin URL,
e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``): when a PostgreSQL leg is asked for and
that is missing or unreachable, the tests fail — they are never skipped.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cloud_harness import BACKENDS, CLOUD_DB, RunningCloud, StartCloud, fresh_postgres_database, make_settings
from fastapi import FastAPI

from cloud.app import create_app
from cloud.main import CloudServer
from cloud.settings import CloudSettings
from tests.serving import serving


@contextlib.asynccontextmanager
async def running(app: FastAPI, settings: CloudSettings) -> AsyncIterator[RunningCloud]:
    def server(config: uvicorn.Config) -> uvicorn.Server:
        return CloudServer(config, hub=app.state.hub, started=None)  # closes live streams on shutdown

    async with serving(app, server=server) as url:
        yield RunningCloud(url=url, settings=settings, app=app)


@pytest.fixture(params=BACKENDS.get(CLOUD_DB, ["sqlite"]))
async def cloud_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The database of this test's cloud service(s): shared by every ``start_cloud`` in the test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def start_cloud(tmp_path: Path, cloud_database_url: str) -> StartCloud:
    """``async with start_cloud(**setting_overrides, twilio_transport=...) as cloud:``"""

    def start(*, twilio_transport: httpx.AsyncBaseTransport | None = None, **overrides: Any) -> Any:
        settings = make_settings(tmp_path, **{"database_url": cloud_database_url, **overrides})
        return running(create_app(settings, twilio_transport=twilio_transport), settings)

    return start


@pytest.fixture
async def cloud(start_cloud: StartCloud) -> AsyncIterator[RunningCloud]:
    async with start_cloud() as running_cloud:
        yield running_cloud


@pytest.fixture
async def operator(cloud: RunningCloud) -> AsyncIterator[httpx.AsyncClient]:
    async with cloud.operator_client() as client:
        yield client


@pytest.fixture
async def edge(cloud: RunningCloud) -> AsyncIterator[httpx.AsyncClient]:
    async with cloud.edge_client() as client:
        yield client
