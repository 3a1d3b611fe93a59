"""An alarm's way through the gateway waits for nothing it need not: not for routine database work queued
before it, not for another event's round still waiting on the center. Real SQLite files, a real HTTP
stand-in for the center; every wait is on an event or condition."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from edge_cloud_standin import TOKEN, CloudStandIn
from edge_testkit import quick_forwarder, sos_event

from contracts import EdgeEvent
from edge.database import Database
from edge.delivery.cloud_client import CloudClient
from edge.delivery.forwarder import Forwarder
from edge.delivery.outbox import Outbox
from edge.liveness.last_seen import CHUNK, LastSeenStore
from edge.liveness.silence import Seen

EDGE = "edge-test"
NOW = 1_764_000_000_000


@asynccontextmanager
async def forwarding(
    cloud: CloudStandIn, cloud_port: int, tmp_path: Path
) -> AsyncIterator[tuple[Outbox, Forwarder]]:
    """An outbox on a real SQLite file and its forwarder running against the stand-in; on the way out the
    stand-in lets every held request go, and the forwarder, its client and the database close."""
    db = Database(tmp_path / "edge.sqlite3")
    await db.open()
    client = CloudClient(base_url=f"http://127.0.0.1:{cloud_port}", token=TOKEN, edge_id=EDGE, timeout_s=10.0)
    outbox = Outbox(db)
    forwarder = quick_forwarder(outbox, client, now_ms=NOW)
    task = asyncio.create_task(forwarder.run())
    try:
        yield outbox, forwarder
    finally:
        cloud.release.set()
        task.cancel()
        await client.aclose()
        await db.close()


def sos(device_id: str, seq: int = 1) -> EdgeEvent:
    return sos_event(EDGE, device_id, seq, now_ms=NOW)


async def test_urgent_database_work_goes_before_routine_work_already_waiting(tmp_path: Path) -> None:
    db = Database(tmp_path / "edge.sqlite3")
    await db.open()
    busy, go = threading.Event(), threading.Event()
    order: list[str] = []

    def blocker(_conn: sqlite3.Connection) -> None:
        busy.set()
        go.wait(10)

    def note(name: str) -> Callable[[sqlite3.Connection], None]:
        return lambda _conn: order.append(name)

    try:
        held = asyncio.create_task(db.run(blocker))
        assert await asyncio.to_thread(busy.wait, 10)  # the thread is busy: what follows queues
        routine = [asyncio.create_task(db.run(note(f"routine-{n}"))) for n in range(3)]
        await asyncio.sleep(0)  # let the routine tasks queue their work first (a yield, not a timer)
        urgent = asyncio.create_task(db.run(note("urgent"), urgent=True))
        await asyncio.sleep(0)
        go.set()
        await asyncio.wait_for(asyncio.gather(held, *routine, urgent), 10)
    finally:
        go.set()
        await db.close()
    assert order == ["urgent", "routine-0", "routine-1", "routine-2"]


async def test_other_work_gets_in_between_the_chunks_of_a_large_last_seen_flush(tmp_path: Path) -> None:
    db = Database(tmp_path / "edge.sqlite3")
    await db.open()
    states = [(f"w-{n:05d}", Seen(NOW + n, NOW + n, None, False, False)) for n in range(2 * CHUNK + 7)]
    busy, go = threading.Event(), threading.Event()

    def blocker(_conn: sqlite3.Connection) -> None:
        busy.set()
        go.wait(10)

    def rows(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT count(*) FROM last_seen").fetchone()[0])

    try:
        store = LastSeenStore(db)
        held = asyncio.create_task(db.run(blocker))
        assert await asyncio.to_thread(busy.wait, 10)
        saving = asyncio.create_task(store.save(states))
        await asyncio.sleep(0)  # the flush queues its first chunk (a yield, not a timer)
        seen_between = asyncio.create_task(db.run(rows))  # queued behind the first chunk only
        go.set()
        await asyncio.wait_for(asyncio.gather(held, saving), 10)
        loaded = dict(await store.load())
    finally:
        go.set()
        await db.close()
    assert await seen_between == CHUNK  # ran after the first chunk, before the rest
    assert len(loaded) == len(states)  # and the flush is whole
    assert loaded["w-01006"].fleet_ms == NOW + 1006


async def test_a_new_alarm_is_posted_while_another_events_round_waits_on_the_center(
    cloud: CloudStandIn, cloud_port: int, tmp_path: Path
) -> None:
    first, second = sos("card-0001"), sos("card-0002")
    cloud.hold_keys.add(first.key)  # the center takes its time over the first one
    async with forwarding(cloud, cloud_port, tmp_path) as (outbox, forwarder):
        await outbox.add(first, now_ms=NOW)
        forwarder.wake()
        await cloud.wait_for(lambda: first.key in cloud.arrived)
        await outbox.add(second, now_ms=NOW)
        forwarder.wake()
        # answered while the first is still held: the second did not wait for the first's round
        await cloud.wait_for(lambda: second.key in cloud.stored_keys())
        assert first.key not in cloud.stored_keys()
        assert await outbox.status_of(second.key) is not None
        cloud.release.set()
        await cloud.wait_for(lambda: first.key in cloud.stored_keys())
        async with asyncio.timeout(10), forwarder.progress:
            await forwarder.progress.wait_for(lambda: forwarder.rounds >= 2)
        async with asyncio.timeout(10):
            while (await outbox.counts()).pending:
                async with forwarder.progress:
                    await forwarder.progress.wait()
    assert cloud.arrived.count(first.key) == 1 and cloud.arrived.count(second.key) == 1  # each sent once


async def test_a_devices_later_event_waits_for_its_earlier_one_in_flight(
    cloud: CloudStandIn, cloud_port: int, tmp_path: Path
) -> None:
    first, later, other = sos("card-0001", 1), sos("card-0001", 2), sos("card-0002", 1)
    cloud.hold_keys.add(first.key)
    async with forwarding(cloud, cloud_port, tmp_path) as (outbox, forwarder):
        await outbox.add(first, now_ms=NOW)
        forwarder.wake()
        await cloud.wait_for(lambda: first.key in cloud.arrived)
        await outbox.add(later, now_ms=NOW)
        await outbox.add(other, now_ms=NOW)
        forwarder.wake()
        await cloud.wait_for(lambda: other.key in cloud.stored_keys())
        assert later.key not in cloud.arrived  # its device's earlier event is still in flight
        cloud.release.set()
        await cloud.wait_for(lambda: later.key in cloud.stored_keys())
    mine = [key for key in cloud.stored_keys() if key.startswith("card-0001")]
    assert mine == [first.key, later.key]
    assert cloud.arrived.count(first.key) == 1
