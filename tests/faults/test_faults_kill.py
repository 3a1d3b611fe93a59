"""``kill -9`` of the gateway and of the cloud during SOS bursts: 0 lost, 0 duplicated, per-device
order kept, every SQLite file intact.

Real processes: Mosquitto (fixture, persistent), ``anxin cloud`` and ``anxin edge`` as subprocesses. The
test cards repeat each SOS until ``AlarmReceived``; an SOS counts as *acknowledged* once that arrived,
and every acknowledged SOS must end up exactly once in the center's intake, in order per device.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from fault_devices import Cards, cards
from fault_processes import District, integrity_ok, sqlite_files, until

from broker.runner import MosquittoBroker, free_port

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.timeout(300)]

DEVICES = [f"card-{n:04d}" for n in range(1, 11)]
PRESSES = 24  # per device
KILLS = 2


@pytest.fixture
async def district(mosquitto: MosquittoBroker, tmp_path: Path) -> AsyncIterator[District]:
    d = District(mqtt_url=mosquitto.url, workdir=tmp_path, free_port=free_port)
    try:
        yield d
    finally:
        await d.close()


def _cloud_events(db: Path) -> list[tuple[int, str, int, str]]:
    """(row id, device id, seq, kind) of every event the center stored."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT id, device_id, seq, kind FROM edge_events ORDER BY id").fetchall()
    finally:
        conn.close()
    return [(int(r[0]), str(r[1]), int(r[2]), str(r[3])) for r in rows]


async def _burst(devices: Cards, sent: dict[str, int]) -> None:
    async def one_device(device_id: str) -> None:
        for seq in range(1, PRESSES + 1):
            await devices.sos(device_id, seq, within_s=120)
            sent[device_id] = seq

    async with asyncio.TaskGroup() as group:
        for device_id in DEVICES:
            group.create_task(one_device(device_id))


async def _run_with_kills(
    district: District, mosquitto: MosquittoBroker, kill_and_restart: Callable[[], Awaitable[None]]
) -> None:
    sent: dict[str, int] = {}
    async with cards(mosquitto.host, mosquitto.port) as devices:
        await devices.listen(*DEVICES)
        burst = asyncio.create_task(_burst(devices, sent))
        for round_ in range(1, KILLS + 1):
            target = round_ * PRESSES * len(DEVICES) // (KILLS + 1)

            async def progressed(target: int = target) -> bool:
                return sum(sent.values()) >= target or burst.done()

            await until(progressed, within_s=120, what=f"{target} SOS acknowledged")
            await kill_and_restart()
        await burst
        acked = {(d, s) for d, seqs in devices.acked.items() for s in seqs}

    assert acked == {(d, s) for d in DEVICES for s in range(1, PRESSES + 1)}

    async def all_in_the_cloud() -> bool:
        return {(d, s) for _, d, s, k in _cloud_events(district.cloud_db) if k == "sos"} >= acked

    await until(all_in_the_cloud, within_s=120, what="every acknowledged SOS in the center")
    await district.close()  # stop everything before checking the files

    events = [(i, d, s) for i, d, s, k in _cloud_events(district.cloud_db) if k == "sos"]
    keys = [(d, s) for _, d, s in events]
    assert len(keys) == len(set(keys)), "an SOS was stored twice"
    assert set(keys) == acked, "the center has SOS no device pressed"
    for device_id in DEVICES:
        seqs = [s for _, d, s in events if d == device_id]
        assert seqs == sorted(seqs), f"{device_id}: events reached the center out of order"
    files = [district.cloud_db, *sqlite_files(district.edge_dir)]
    assert district.edge_dir / "edge.sqlite3" in files
    for path in files:
        integrity_ok(path)


async def test_kill_9_of_the_gateway_during_an_sos_burst(
    district: District, mosquitto: MosquittoBroker
) -> None:
    await district.start_cloud()
    await district.start_edge(backoff_initial_s=0.2, backoff_max_s=2.0)

    async def kill_and_restart() -> None:
        await district.kill_edge()
        await district.start_edge()

    await _run_with_kills(district, mosquitto, kill_and_restart)
    assert len(district.edge_runs) == KILLS + 1


async def test_kill_9_of_the_cloud_during_an_sos_burst(
    district: District, mosquitto: MosquittoBroker
) -> None:
    await district.start_cloud()
    edge = await district.start_edge(backoff_initial_s=0.2, backoff_max_s=2.0)

    async def kill_and_restart() -> None:
        await district.kill_cloud()
        await district.start_cloud()

    await _run_with_kills(district, mosquitto, kill_and_restart)
    assert len(district.cloud_runs) == KILLS + 1
    assert len(district.edge_runs) == 1 and edge.count(r"Traceback") == 0
