"""Data at rest and the ops endpoints: a private database, synchronous=FULL, /metrics and /api/docs."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import httpx
import pytest
from cloud_harness import StartCloud, make_settings
from sqlalchemy import text

from cloud.db import open_database
from cloud.metrics import scrape_allowed

METRICS_TOKEN = "prometheus-scrape-token-0123"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_database_is_private_and_fsyncs_every_commit(tmp_path: Path) -> None:
    folder = tmp_path / "fresh" / "cloud"
    db = await open_database(f"sqlite+aiosqlite:///{folder / 'cloud.db'}")
    try:
        async with db.sessions() as session:
            assert (await session.execute(text("PRAGMA synchronous"))).scalar() == 2  # FULL
            assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            await session.commit()
        files = sorted(folder.iterdir())
        assert {p.name for p in files} >= {"cloud.db", "cloud.db-wal", "cloud.db-shm"}
        assert mode(folder) == 0o700
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    finally:
        await db.close()


async def test_an_existing_open_folder_is_left_alone_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    (shared / "cloud.db").touch(mode=0o644)
    (shared / "cloud.db").chmod(0o644)
    with caplog.at_level(logging.WARNING):
        db = await open_database(f"sqlite+aiosqlite:///{shared / 'cloud.db'}")
        await db.close()
    assert mode(shared) == 0o755 and mode(shared / "cloud.db") == 0o600
    assert "storage.folder_not_private" in caplog.text and "chmod 700" in caplog.text


def test_scrape_rules() -> None:
    bearer = f"Bearer {METRICS_TOKEN}"
    assert scrape_allowed(token=METRICS_TOKEN, authorization=bearer, client_host="10.0.0.9")
    assert not scrape_allowed(token=METRICS_TOKEN, authorization="Bearer wrong", client_host="127.0.0.1")
    assert not scrape_allowed(token=METRICS_TOKEN, authorization=None, client_host="127.0.0.1")
    assert not scrape_allowed(token=METRICS_TOKEN, authorization=f"Basic {METRICS_TOKEN}", client_host="::1")
    assert scrape_allowed(token=None, authorization=None, client_host="127.0.0.1")
    assert scrape_allowed(token=None, authorization=None, client_host="::1")
    assert not scrape_allowed(token=None, authorization=None, client_host="10.0.0.9")
    assert not scrape_allowed(token=None, authorization=None, client_host="testclient")


async def test_metrics_need_the_token_and_docs_are_off_by_default(start_cloud: StartCloud) -> None:
    async with (
        start_cloud(metrics_token=METRICS_TOKEN) as cloud,
        httpx.AsyncClient(base_url=cloud.url) as client,
    ):
        refused = await client.get("/metrics")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert (await client.get("/metrics", headers={"Authorization": "Bearer nope"})).status_code == 401
        scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert scraped.status_code == 200 and "anxin_cloud" in scraped.text
        assert (await client.get("/api/docs")).status_code == 404
        assert (await client.get("/api/openapi.json")).status_code == 404


async def test_docs_when_enabled(start_cloud: StartCloud) -> None:
    async with start_cloud(api_docs=True) as cloud, httpx.AsyncClient(base_url=cloud.url) as client:
        assert (await client.get("/api/docs")).status_code == 200
        assert (await client.get("/api/openapi.json")).json()["info"]["title"].startswith("Anxin")


def test_settings_refuse_a_placeholder_metrics_token(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="metrics_token"):
        make_settings(tmp_path, metrics_token="changeme")
    settings = make_settings(tmp_path)
    assert (settings.incident_retention_days, settings.api_docs, settings.metrics_token) == (
        365.0,
        False,
        None,
    )
