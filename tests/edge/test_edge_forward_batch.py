"""The forwarder drains a backlog through the center's batch intake: the real cloud (uvicorn, SQLite
file), a real outbox file; every event stored once, each device's events in its order."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path

import httpx
from edge_testkit import quick_forwarder, sos_event

from cloud.app import create_app
from cloud.settings import CloudSettings
from contracts import EdgeEvent
from contracts.intake import INTAKE_BATCH_PATH, INTAKE_PATH
from edge.database import Database
from edge.delivery.claims import KeyClaims
from edge.delivery.cloud_client import CloudClient
from edge.delivery.outbox import Outbox
from tests.serving import serving

EDGE, TOKEN = "edge-xiqing-01", "forward-batch-token-0123456789"
OTHER, OTHER_TOKEN = "edge-other", "forward-other-token-0123456789"
NOW = 1_764_000_000_000


class CountingTransport(httpx.AsyncHTTPTransport):
    """A real HTTP transport that counts requests by path."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths[request.url.path] += 1
        return await super().handle_async_request(request)


def sos(edge_id: str, device_id: str, seq: int) -> EdgeEvent:
    return sos_event(edge_id, device_id, seq, now_ms=NOW)


async def drain(edge_id: str, token: str, url: str, events: list[EdgeEvent], tmp: Path) -> CountingTransport:
    transport = CountingTransport()
    db = Database(tmp / f"{edge_id}.sqlite3")
    await db.open()
    cloud = CloudClient(base_url=url, token=token, edge_id=edge_id, timeout_s=10.0, transport=transport)
    try:
        outbox = Outbox(db)
        for event in events:
            await outbox.add(event, now_ms=NOW)
        forwarder = quick_forwarder(outbox, cloud, now_ms=NOW)
        task = asyncio.create_task(forwarder.run())
        try:
            async with asyncio.timeout(30), forwarder.progress:
                while (await outbox.counts()).pending:
                    await forwarder.progress.wait()
            assert (await outbox.counts()).rejected == 0
        finally:
            task.cancel()
    finally:
        await cloud.aclose()
        await db.close()
    return transport


async def test_a_backlog_drains_in_batches_each_event_once_in_device_order(tmp_path: Path) -> None:
    settings = CloudSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}",
        edge_tokens={EDGE: TOKEN, OTHER: OTHER_TOKEN},
        operator_password="forward-batch-operator",
        session_secret="forward-batch-session-0123456789",
        demo_data=True,
    )
    backlog = [sos(EDGE, f"card-{n:04d}", seq) for seq in (1, 2, 3) for n in range(1, 21)]
    async with serving(create_app(settings)) as url:
        ours = await drain(EDGE, TOKEN, url, backlog, tmp_path)
        # another gateway's alarms of this site's devices: refused (403) one by one, rerouted unassigned
        others = [sos(OTHER, "card-0001", 9), sos(OTHER, "card-0002", 9)]
        theirs = await drain(OTHER, OTHER_TOKEN, url, others, tmp_path)
        (tmp_path / "again").mkdir()
        again = await drain(EDGE, TOKEN, url, backlog, tmp_path / "again")
    assert ours.paths[INTAKE_BATCH_PATH] == 3 and ours.paths[INTAKE_PATH] == 0  # one batch per round
    assert theirs.paths[INTAKE_BATCH_PATH] == 2  # refused, then sent again flagged unassigned
    assert again.paths[INTAKE_BATCH_PATH] == 3  # all duplicates, each confirmed
    with sqlite3.connect(tmp_path / "cloud.db") as conn:
        stored = conn.execute("SELECT key, device_id, seq FROM edge_events ORDER BY id").fetchall()
    keys = [key for key, _, _ in stored]
    assert sorted(keys) == sorted([e.key for e in backlog] + [f"{OTHER}/card-0001:9", f"{OTHER}/card-0002:9"])
    for device in {device for _, device, _ in stored}:
        seqs = [seq for _, d, seq in stored if d == device]
        assert seqs == sorted(seqs)  # each device's events stored in its order


async def test_a_batch_skips_an_event_degraded_mode_holds_until_it_is_released(tmp_path: Path) -> None:
    settings = CloudSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}",
        edge_tokens={EDGE: TOKEN},
        operator_password="forward-batch-operator",
        session_secret="forward-batch-session-0123456789",
        demo_data=True,
    )
    backlog = [sos(EDGE, f"card-{n:04d}", 1) for n in range(1, 5)]
    held = backlog[0].key
    claims = KeyClaims()
    assert claims.try_claim(held)  # degraded mode is texting this alarm's guardians
    transport = CountingTransport()
    db = Database(tmp_path / "edge.sqlite3")
    await db.open()
    async with serving(create_app(settings)) as url:
        cloud = CloudClient(base_url=url, token=TOKEN, edge_id=EDGE, timeout_s=10.0, transport=transport)
        outbox = Outbox(db)
        for event in backlog:
            await outbox.add(event, now_ms=NOW)
        forwarder = quick_forwarder(outbox, cloud, now_ms=NOW, claims=claims)
        task = asyncio.create_task(forwarder.run())
        try:
            async with asyncio.timeout(30):
                async with forwarder.progress:
                    await forwarder.progress.wait_for(lambda: forwarder.rounds >= 1)
                assert (await outbox.counts()).pending == 1  # the held one only
                assert transport.paths[INTAKE_BATCH_PATH] == 1
                assert claims.held(held)  # the forwarder did not release what it had not claimed
                claims.release(held)
                forwarder.wake()
                async with forwarder.progress:
                    while (await outbox.counts()).pending:
                        await forwarder.progress.wait()
        finally:
            task.cancel()
            await cloud.aclose()
            await db.close()
    with sqlite3.connect(tmp_path / "cloud.db") as conn:
        stored = [key for (key,) in conn.execute("SELECT key FROM edge_events ORDER BY id")]
    assert sorted(stored) == sorted(e.key for e in backlog)
    assert stored[-1] == held  # sent once released
