"""Dead-device detection: silence per device kind from the care plan, last will with a grace period,
battery depleted, once per quiet spell, and the state kept in the edge database across restarts."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_cloud_standin import CloudStandIn
from edge_testkit import DeviceLink

from contracts import DeviceKind, EventKind, Presence, Status, encode
from contracts.care_plan import CarePlan
from edge.database import Database
from edge.detection.fleet_clock import FleetClock
from edge.liveness.detector import Liveness, silence_threshold_ms
from edge.liveness.last_seen import LastSeenStore
from edge.liveness.silence import Seen, SilenceWatch
from edge.pipeline import Pipeline

T0 = 1_764_000_000_000
MIN = 60_000
KINDS = {"card": DeviceKind.SOS_CARD, "wear": DeviceKind.WEARABLE, "kid": DeviceKind.CHILD_MONITOR}


def _kind(device_id: str) -> DeviceKind | None:
    return KINDS.get(device_id.split("-", maxsplit=1)[0])


def _liveness(plans: dict[str, CarePlan] | None = None, grace_s: float = 120) -> Liveness:
    plans = plans or {}
    return Liveness(
        clock=FleetClock(), kind_of=_kind, plan_of=plans.get, offline_grace_s=grace_s, feed_clock=True
    )


def _status(device_id: str, ts: int, battery: int = 80, **extra: Any) -> Status:
    return Status(device_id=device_id, seq=ts // 1000 % 1_000_000, ts=ts, battery_pct=battery, **extra)


def test_default_thresholds_per_kind_and_the_care_plan_overrides() -> None:
    assert silence_threshold_ms(DeviceKind.SOS_CARD, None) == 30 * MIN
    assert silence_threshold_ms(DeviceKind.WEARABLE, None) == 10 * MIN
    assert silence_threshold_ms(DeviceKind.CHILD_MONITOR, None) == 10 * MIN
    plan = CarePlan.model_validate({"silence": {"sos_card_min": 45}})
    assert silence_threshold_ms(DeviceKind.SOS_CARD, plan) == 45 * MIN
    assert silence_threshold_ms(DeviceKind.WEARABLE, plan) == 10 * MIN


def test_each_kind_is_reported_after_its_threshold_once_per_spell() -> None:
    live = _liveness()
    for device in ("card-1", "wear-1", "kid-1", "stranger-1"):
        live.observe(_status(device, T0), received_ms=T0)
    assert live.tick(T0 + 10 * MIN - 1) == []
    found = live.tick(T0 + 10 * MIN)
    assert sorted((d, f.kind, f.t_ms) for d, f in found) == [
        ("kid-1", EventKind.DEVICE_SILENT, T0 + 10 * MIN),
        ("wear-1", EventKind.DEVICE_SILENT, T0 + 10 * MIN),
    ]
    [(device, finding)] = live.tick(T0 + 30 * MIN)
    assert device == "card-1" and finding.detail == "missed_heartbeats"
    assert finding.evidence == {
        "reason": "missed_heartbeats",
        "onset_ms": T0,
        "quiet_s": 1800,
        "threshold_s": 1800,
    }
    assert live.tick(T0 + 5 * 60 * MIN) == []  # once per spell; an unknown device is never watched
    live.observe(_status("card-1", T0 + 6 * 60 * MIN), received_ms=T0 + 6 * 60 * MIN)  # back: a new spell
    assert [d for d, _ in live.tick(T0 + 6 * 60 * MIN + 30 * MIN)] == ["card-1"]


def test_silence_after_a_low_battery_is_battery_depleted() -> None:
    live = _liveness()
    live.observe(_status("wear-1", T0, battery=12), received_ms=T0)
    [(_, finding)] = live.tick(T0 + 10 * MIN)
    assert finding.kind is EventKind.BATTERY_DEPLETED and finding.detail == "silent_after_low_battery"
    live.observe(_status("wear-2", T0, battery=10, charging=True), received_ms=T0)  # charging: not low
    [(_, charging)] = live.tick(T0 + 20 * MIN)
    assert charging.kind is EventKind.DEVICE_SILENT


def test_a_last_will_is_reported_after_the_grace_unless_the_device_reconnects() -> None:
    live = _liveness(grace_s=120)
    for device in ("card-1", "card-2"):
        live.observe(_status(device, T0), received_ms=T0)
        live.observe(Presence(device_id=device, online=False), received_ms=T0 + MIN)
    live.observe(Presence(device_id="card-2", online=True, ts=T0 + MIN + 5_000), received_ms=T0 + MIN + 5_000)
    assert live.tick(T0 + MIN + 119_999) == []
    [(device, finding)] = live.tick(T0 + MIN + 120_000)
    assert device == "card-1" and finding.kind is EventKind.DEVICE_SILENT
    assert finding.detail == "last_will_offline"
    assert live.tick(T0 + 30 * MIN) == []  # card-1 reported already; card-2 not quiet for 30 min yet
    assert [d for d, _ in live.tick(T0 + MIN + 5_000 + 30 * MIN)] == ["card-2"]


def test_a_retained_online_presence_replayed_on_subscribe_is_no_sign_of_life() -> None:
    watch = SilenceWatch(threshold_ms=lambda _d: 30 * MIN, grace_ms=0)
    watch.heard("card-1", device_ts=T0 + 10 * MIN, fleet_ms=T0 + 10 * MIN)
    watch.reconnected("card-1", connect_ts=T0, device_ts=T0, fleet_ms=T0 + 20 * MIN)  # retained, older
    assert [q.device_id for q in watch.check(fleet_now=T0 + 40 * MIN, wall_now=T0 + 40 * MIN)] == ["card-1"]


def test_the_pipeline_keys_silence_by_the_last_seq() -> None:
    live = _liveness()
    pipeline = Pipeline("edge-1", [live])
    pipeline.handle(Status(device_id="card-1", seq=41, ts=T0, battery_pct=80), received_ms=T0)
    [event] = pipeline.tick(T0 + 30 * MIN)
    assert event.kind is EventKind.DEVICE_SILENT and event.key == f"card-1:41.device_silent.t{T0 + 30 * MIN}"


async def test_last_seen_survives_a_restart_in_the_edge_database(tmp_path: Path) -> None:
    path = tmp_path / "edge.sqlite3"
    db = Database(path)
    await db.open()
    store = LastSeenStore(db)
    before = _liveness()
    before.observe(_status("card-1", T0), received_ms=T0)
    before.observe(_status("wear-1", T0, battery=11), received_ms=T0)
    assert await before.flush(store) == 2
    assert await before.flush(store) == 0  # only what changed is written
    await db.close()

    db = Database(path)
    await db.open()
    after = _liveness()  # a restarted gateway: nothing heard since
    assert await after.restore(LastSeenStore(db)) == 2
    assert after.tick(T0 + 10 * MIN - 1) == []
    [(device, finding)] = after.tick(T0 + 10 * MIN)
    assert device == "wear-1" and finding.kind is EventKind.BATTERY_DEPLETED
    assert await after.flush(LastSeenStore(db)) == 1  # the reported spell is remembered too
    await db.close()
    rows = sqlite3.connect(path).execute("SELECT device_id, silent FROM last_seen ORDER BY 1").fetchall()
    assert rows == [("card-1", 0), ("wear-1", 1)]


async def test_an_older_edge_database_gets_the_new_tables_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "edge.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY, key TEXT UNIQUE, device_id TEXT, priority INTEGER,"
        " kind TEXT, body BLOB, status TEXT DEFAULT 'pending', attempts INTEGER DEFAULT 0,"
        " next_try_ms INTEGER DEFAULT 0, created_ms INTEGER, done_ms INTEGER, error TEXT);"
        "CREATE TABLE registry (device_id TEXT PRIMARY KEY, kind TEXT NOT NULL, subject_id TEXT);"
    )
    old.close()
    db = Database(path)
    await db.open()
    await db.close()
    conn = sqlite3.connect(path)
    columns = {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in ("outbox", "registry")}
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "edge_notified_ms" in columns["outbox"]
    assert {"care_plan", "masked_name", "guardians"} <= columns["registry"]
    assert {"edge_sms", "last_seen"} <= tables


async def test_gateway_restores_and_writes_last_seen(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink, tmp_path: Path
) -> None:
    async with gateway_factory(last_seen_flush_s=0.05) as gateway:
        assert gateway.liveness is not None
        await device.publish("card-1", "status", encode(_status("card-1", T0)))
        await gateway.wait_handled(1)
        assert gateway.liveness.watch.get("card-1") is not None
    rows = (
        sqlite3.connect(tmp_path / "edge" / "edge.sqlite3")
        .execute("SELECT device_id FROM last_seen")
        .fetchall()
    )
    assert rows == [("card-1",)]  # written at the latest on the way out
    async with gateway_factory() as gateway:
        assert gateway.liveness is not None
        restored = gateway.liveness.watch.get("card-1")
        assert isinstance(restored, Seen) and restored.device_ts == T0
