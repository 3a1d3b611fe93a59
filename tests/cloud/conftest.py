"""Fixtures for the cloud tests: the real service under uvicorn on a free port, on a SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cloud_harness import RunningCloud, StartCloud, make_settings
from fastapi import FastAPI

from broker.runner import free_port
from cloud.app import create_app
from cloud.main import serve_app
from cloud.settings import CloudSettings


@contextlib.asynccontextmanager
async def running(app: FastAPI, settings: CloudSettings) -> AsyncIterator[RunningCloud]:
    port = free_port()
    started = asyncio.Event()
    task = asyncio.create_task(serve_app(app, host="127.0.0.1", port=port, started=started))
    try:
        waiter = asyncio.create_task(started.wait())
        done, _ = await asyncio.wait({task, waiter}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            if task in done:
                task.result()
            raise RuntimeError("cloud did not start")
        yield RunningCloud(url=f"http://127.0.0.1:{port}", settings=settings)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
def start_cloud(tmp_path: Path) -> StartCloud:
    """``async with start_cloud(**setting_overrides, twilio_transport=...) as cloud:``"""

    def start(*, twilio_transport: httpx.AsyncBaseTransport | None = None, **overrides: Any) -> Any:
        settings = make_settings(tmp_path, **overrides)
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
