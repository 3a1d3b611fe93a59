"""Telemetry: points from uplinks, line protocol, the bounded buffer, the SQLite store on a real file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from edge_cloud_standin import CloudStandIn
from edge_testkit import BASE_TS, EDGE_ID, DeviceLink
from pydantic import ValidationError

from contracts import AccelBatch, Location, LocationSource, SosPress, Status, Vitals, encode
from edge.delivery.backoff import Backoff
from edge.settings import EdgeSettings
from edge.telemetry.buffer import BufferedSink
from edge.telemetry.influx import line_of
from edge.telemetry.points import points_of
from edge.telemetry.sink import ACTIVITY, DEVICE_STATUS, LOCATION, VITALS, Point
from edge.telemetry.sqlite import DAY_MS, SqliteTelemetryStore

TAGS = {"device_id": "wear-1", "kind": "wearable", "edge_id": EDGE_ID}
NOW = BASE_TS + 10 * DAY_MS


def vitals(seq: int, hr: int = 72, device_id: str = "wear-1") -> Vitals:
    return Vitals(device_id=device_id, seq=seq, ts=BASE_TS + seq * 1000, hr_bpm=hr, spo2_pct=97)


async def wait_written(sink: BufferedSink, count: int, within_s: float = 10.0) -> None:
    async with asyncio.timeout(within_s), sink.progress:
        await sink.progress.wait_for(lambda: sink.stats.written >= count)


# -- points (pure) ---------------------------------------------------------------------------------
def test_vitals_status_location_become_points_with_device_time() -> None:
    [v] = points_of(vitals(3), TAGS, received_ms=1)
    assert (v.measurement, v.ts_ms, dict(v.fields)) == (
        VITALS,
        BASE_TS + 3000,
        {"hr_bpm": 72, "spo2_pct": 97, "motion": False},
    )
    status = Status(device_id="wear-1", seq=4, ts=BASE_TS, battery_pct=41, rssi_dbm=-70, charging=True)
    [s] = points_of(status, TAGS, 1)
    assert s.measurement == DEVICE_STATUS
    assert dict(s.fields) == {"battery_pct": 41, "charging": True, "low_battery": False, "rssi_dbm": -70}
    where = Location(
        device_id="wear-1", seq=5, ts=BASE_TS, lat=39, lon=117.2, accuracy_m=5, source=LocationSource.GNSS
    )
    [loc] = points_of(where, TAGS, 1)
    assert loc.measurement == LOCATION and loc.fields["lat"] == 39.0 and isinstance(loc.fields["lat"], float)


def test_accel_batch_is_summarised_never_stored_raw() -> None:
    batch = AccelBatch(device_id="wear-1", seq=1, ts=BASE_TS, samples=[(0, 0, 1)] * 49 + [(0, 3, 4)])
    [p] = points_of(batch, TAGS, 1)
    assert p.measurement == ACTIVITY
    assert set(p.fields) == {"peak_g", "activity_g", "samples", "rate_hz"}
    assert p.fields["peak_g"] == pytest.approx(5.0)
    assert p.fields["activity_g"] == pytest.approx(4.0 / 50)


def test_alarms_are_not_telemetry() -> None:
    assert points_of(SosPress(device_id="card-1", seq=1, ts=BASE_TS), TAGS, 1) == []


def test_line_protocol_types_and_escapes() -> None:
    point = Point(
        "vitals", {"edge_id": "e 1", "device_id": "a,b=c"}, {"hr_bpm": 7, "ok": True, "x": 1.5, "s": 'q"'}, 9
    )
    assert line_of(point) == 'vitals,device_id=a\\,b\\=c,edge_id=e\\ 1 hr_bpm=7i,ok=true,s="q\\"",x=1.5 9'


# -- buffer ----------------------------------------------------------------------------------------
def test_a_full_buffer_drops_the_oldest_and_counts() -> None:
    sink = BufferedSink(batch_size=5, flush_interval_s=1, buffer_size=10, backoff=Backoff(0.01, 0.02))
    sink.write(points_of(vitals(seq), TAGS, 1)[0] for seq in range(1, 26))
    assert (sink.stats.buffered, sink.stats.dropped_full) == (10, 15)
    assert sink._buffer[0].ts_ms == BASE_TS + 16_000  # the newest ten are kept


# -- settings --------------------------------------------------------------------------------------
def test_influx_telemetry_refuses_a_missing_or_placeholder_token() -> None:
    for token in (None, "changeme", " "):
        with pytest.raises(ValidationError, match="influx_token"):
            EdgeSettings(cloud_token="real-token-1", telemetry="influx", influx_token=token)
    ok = EdgeSettings(cloud_token="real-token-1", telemetry="influx", influx_token="t0ken-for-real")
    assert ok.telemetry == "influx"
    assert EdgeSettings(cloud_token="real-token-1").telemetry == "sqlite"


# -- SQLite store (real file) ----------------------------------------------------------------------
def make_store(path: Path, **overrides: Any) -> SqliteTelemetryStore:
    values: dict[str, Any] = {
        "retention_days": 2,
        "clock_ms": lambda: NOW,
        "batch_size": 100,
        "flush_interval_s": 0.02,
        "buffer_size": 10_000,
        "backoff": Backoff(0.01, 0.05),
    }
    values.update(overrides)
    return SqliteTelemetryStore(path, **values)


async def test_sqlite_store_writes_batches_to_its_own_wal_file(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.sqlite3"
    store = make_store(path)
    await store.open()
    store.write(points_of(vitals(seq, hr=60 + seq % 100), TAGS, 1)[0] for seq in range(1, 251))
    assert await store.flush()
    assert store.stats.written == 250
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        rows = conn.execute(
            "SELECT ts_ms, device_id, kind, edge_id, json_extract(fields, '$.hr_bpm') FROM points"
            " WHERE measurement = 'vitals' ORDER BY ts_ms"
        ).fetchall()
    assert len(rows) == 250
    assert rows[0] == (BASE_TS + 1000, "wear-1", "wearable", EDGE_ID, 61)


async def test_sqlite_store_prunes_points_older_than_retention(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.sqlite3"
    store = make_store(path, retention_days=2)
    old = [Point(VITALS, TAGS, {"hr_bpm": 70}, NOW - 3 * DAY_MS + i) for i in range(30)]
    new = [Point(VITALS, TAGS, {"hr_bpm": 71}, NOW - DAY_MS + i) for i in range(20)]
    await store.open()
    store.write(old + new)
    assert await store.flush()
    await store.close()
    store = make_store(path, retention_days=2)  # a restarted gateway prunes when its loop starts
    task = asyncio.create_task(store.run())
    try:
        store.write([Point(VITALS, TAGS, {"hr_bpm": 72}, NOW)])
        await wait_written(store, 1)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await store.close()
    with sqlite3.connect(path) as conn:
        kept = [orjson.loads(f)["hr_bpm"] for (f,) in conn.execute("SELECT fields FROM points")]
    assert sorted(set(kept)) == [71, 72] and len(kept) == 21


# -- the gateway with its default (SQLite) telemetry -----------------------------------------------
async def test_gateway_writes_vitals_to_the_sqlite_store_by_default(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    async with gateway_factory(telemetry_flush_s=0.02) as gateway:
        sink = gateway.telemetry.sink
        assert isinstance(sink, SqliteTelemetryStore)
        await device.publish("wear-1", "vitals", encode(vitals(1, hr=88)))
        await wait_written(sink, 1)
        path = gateway.settings.telemetry_path
    with sqlite3.connect(path) as conn:
        row = conn.execute(
            "SELECT ts_ms, device_id, kind, fields FROM points WHERE measurement='vitals'"
        ).fetchone()
    assert row[:3] == (BASE_TS + 1000, "wear-1", "wearable")
    assert orjson.loads(row[3]) == {"motion": False, "hr_bpm": 88, "spo2_pct": 97}


@pytest.mark.expect_logged_errors("telemetry.stopped")
async def test_a_telemetry_store_that_cannot_open_does_not_stop_the_gateway(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink, tmp_path: Path
) -> None:
    (tmp_path / "edge" / "telemetry.sqlite3").mkdir(parents=True)  # a folder where the file should be
    async with gateway_factory() as gateway:
        await device.listen("card-1")
        await device.publish("card-1", "sos", encode(SosPress(device_id="card-1", seq=1, ts=BASE_TS)))
        await device.wait_downlinks(1)
        await asyncio.wait_for(gateway.telemetry.stopped.wait(), 10)
        await device.publish("wear-1", "vitals", encode(vitals(1)))
        await gateway.wait_handled(2)
        assert gateway.accepted_count("vitals") == 1
