"""The gateway's files are private (0600 in a 0700 folder) and its /metrics can require a token."""

from __future__ import annotations

import asyncio
import contextlib
import stat
from pathlib import Path

import httpx
import pytest

from broker.runner import free_port
from edge.database import Database
from edge.delivery.backoff import Backoff
from edge.metrics import EdgeMetrics, serve_metrics
from edge.settings import EdgeSettings
from edge.telemetry.sqlite import SqliteTelemetryStore

TOKEN = "edge-scrape-token-0123456"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_outbox_and_telemetry_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "var" / "edge"
    outbox = Database(folder / "edge.sqlite3")
    telemetry = SqliteTelemetryStore(
        folder / "telemetry.sqlite3",
        retention_days=30,
        clock_ms=lambda: 0,
        batch_size=10,
        flush_interval_s=1,
        buffer_size=10,
        backoff=Backoff(),
    )
    await outbox.open()
    await telemetry.open()
    try:
        await outbox.run(lambda conn: conn.execute("INSERT INTO meta VALUES ('k', 'v')"))
        files = sorted(folder.iterdir())
        assert {"edge.sqlite3", "edge.sqlite3-wal", "telemetry.sqlite3"} <= {p.name for p in files}
        assert mode(folder) == 0o700
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    finally:
        await telemetry.close()
        await outbox.close()


async def test_metrics_listener_answers_only_the_bearer_token() -> None:
    port, ready = free_port(), asyncio.Event()
    server = asyncio.create_task(serve_metrics(EdgeMetrics(), "127.0.0.1", port, ready, TOKEN))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            refused = await client.get("/metrics")
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
            assert (
                await client.get("/metrics", headers={"Authorization": "Bearer wrong"})
            ).status_code == 401
            scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert scraped.status_code == 200 and "anxin_edge" in scraped.text
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server


def test_metrics_off_loopback_need_a_token() -> None:
    base = {"cloud_token": "edge-cloud-token-0123456", "metrics_port": 9101}
    with pytest.raises(ValueError, match="metrics_token"):
        EdgeSettings(**base, metrics_host="0.0.0.0")
    with pytest.raises(ValueError, match="metrics_token"):
        EdgeSettings(**base, metrics_host="0.0.0.0", metrics_token="changeme")
    assert EdgeSettings(**base, metrics_host="0.0.0.0", metrics_token=TOKEN).metrics_token is not None
    assert EdgeSettings(**base).metrics_token is None  # loopback: no token needed
