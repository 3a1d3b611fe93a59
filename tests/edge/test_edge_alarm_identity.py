"""Alarm identity at the edge: the bounded sequence window (pure) and the outbox that tells copies of a
stored alarm from different messages (real SQLite file)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import EdgeEvent, SosPress, encode, message_digest
from contracts.identity import event_key, variant_key
from contracts.intake import EventKind, Severity
from edge.database import Database
from edge.delivery.cloud_client import raise_for_answer
from edge.delivery.outbox import Outbox
from edge.errors import CloudRejected, CloudUnavailable
from edge.ingest.sequence import SequenceTracker, Verdict, WindowLimits
from edge.pipeline import Pipeline

NOW = 1_764_000_000_000
LIMITS = WindowLimits(window=64, max_seq_jump=1_000, max_boot_jump=4, max_ahead_ms=60_000)


def tracker() -> SequenceTracker:
    return SequenceTracker(limits=LIMITS)


def test_a_far_future_clock_is_quarantined_and_moves_nothing() -> None:
    seq = tracker()
    assert seq.check("d", 3, NOW, now_ms=NOW) is Verdict.NEW
    assert seq.check("d", 2**53 - 1, 9_999_999_999_999, now_ms=NOW) is Verdict.CLOCK_AHEAD
    assert seq.check("d", 4, NOW + 1, now_ms=NOW) is Verdict.NEW
    assert seq.check("d", 5, NOW + 60_000, now_ms=NOW) is Verdict.NEW  # within the limit


def test_a_single_seq_jump_is_quarantined_and_a_second_message_confirms_it() -> None:
    seq = tracker()
    seq.check("d", 10, NOW, now_ms=NOW)
    assert seq.check("d", 5_000, NOW + 1, now_ms=NOW) is Verdict.SEQ_JUMP
    assert seq.check("d", 11, NOW + 2, now_ms=NOW) is Verdict.NEW  # the forged one moved nothing
    assert seq.check("d", 5_000, NOW + 3, now_ms=NOW) is Verdict.SEQ_JUMP
    assert seq.check("d", 5_001, NOW + 4, now_ms=NOW) is Verdict.NEW  # a real jump, confirmed
    assert seq.check("d", 12, NOW + 3, now_ms=NOW) is Verdict.STALE  # a late message from before it


def test_boot_restarts_the_window_within_a_bounded_jump() -> None:
    seq = tracker()
    seq.check("d", 500, NOW, now_ms=NOW)
    assert seq.check("d", 1, NOW + 1, boot=1, now_ms=NOW) is Verdict.RESTARTED
    assert seq.check("d", 1, NOW + 1, boot=1, now_ms=NOW) is Verdict.REPLAYED
    assert seq.check("d", 2, NOW + 2, boot=1, now_ms=NOW) is Verdict.NEW
    assert seq.check("d", 1, NOW + 3, boot=99, now_ms=NOW) is Verdict.BOOT_JUMP
    assert seq.check("d", 3, NOW + 4, boot=1, now_ms=NOW) is Verdict.NEW
    assert seq.check("d", 499, NOW - 10, boot=0, now_ms=NOW) is Verdict.STALE  # a late copy of boot 0
    seq.unmark("d", 3, boot=1)
    assert seq.check("d", 3, NOW + 4, boot=1, now_ms=NOW) is Verdict.OUT_OF_ORDER


forged_messages = st.tuples(
    st.integers(0, 2**32 - 1) | st.integers(0, 8),  # boot
    st.integers(0, 2**53 - 1) | st.integers(0, 3_000),  # seq
    st.integers(10**12, 9_999_999_999_999) | st.integers(NOW - 1_000, NOW + 120_000),  # ts
)


@settings(max_examples=300, deadline=None)
@given(boot=st.integers(0, 3), sent=st.integers(0, 300), forged=forged_messages)
def test_no_single_message_locks_a_device_out(boot: int, sent: int, forged: tuple[int, int, int]) -> None:
    """A device sent ``sent`` messages; then one message says anything at all on its topic. The device's
    next real messages (same boot, seq going on, clock right) are accepted again at the latest once the
    clock-ahead limit has passed — and alarms never wait for that (they are judged by the outbox)."""
    seq = tracker()
    for n in range(1, sent + 1):
        assert seq.check("d", n, NOW - 1_000 + n, boot=boot, now_ms=NOW).accepted
    forged_boot, forged_seq, forged_ts = forged
    seq.check("d", forged_seq, forged_ts, boot=forged_boot, now_ms=NOW)
    later = NOW + LIMITS.max_ahead_ms + 1
    verdicts = [seq.check("d", sent + n, later + n, boot=boot, now_ms=later + n) for n in range(1, 4)]
    assert all(v.accepted for v in verdicts), verdicts


def _sos_event(payload: bytes, *, seq: int = 5, boot: int = 0, ts: int = NOW) -> EdgeEvent:
    return EdgeEvent(
        key=event_key("card-1", seq, boot),
        edge_id="edge-1",
        device_id="card-1",
        boot=boot,
        seq=seq,
        kind=EventKind.SOS,
        severity=Severity.P1,
        device_ts=ts,
        edge_ts=ts,
        digest=message_digest(payload),
    )


async def test_outbox_stores_a_different_message_under_a_taken_key_and_not_a_copy(tmp_path: Path) -> None:
    db = Database(tmp_path / "edge.sqlite3")
    await db.open()
    try:
        outbox = Outbox(db)
        first = encode(SosPress(device_id="card-1", seq=5, ts=NOW))
        restarted = encode(SosPress(device_id="card-1", seq=5, ts=NOW + 60_000))  # old firmware, reset
        one = await outbox.add(_sos_event(first), now_ms=NOW)
        copy = await outbox.add(_sos_event(first), now_ms=NOW + 1)
        two = await outbox.add(_sos_event(restarted, ts=NOW + 60_000), now_ms=NOW + 2)
        two_copy = await outbox.add(_sos_event(restarted, ts=NOW + 60_000), now_ms=NOW + 3)
        assert (one.new, copy.new, two.new, two_copy.new) == (True, False, True, False)
        assert one.key == copy.key == "card-1:5"
        assert two.key == two_copy.key == variant_key("card-1:5", message_digest(restarted))
        rows = await outbox.heads(now_ms=NOW + 10, limit=10)
        assert [r.key for r in rows] == ["card-1:5"]  # one device: its oldest first
        assert (await outbox.counts()).pending == 2
        body = EdgeEvent.model_validate_json(
            await db.run(
                lambda c: c.execute("SELECT body FROM outbox WHERE key = ?", (two.key,)).fetchone()[0]
            )
        )
        assert body.key == two.key and body.device_ts == NOW + 60_000
    finally:
        await db.close()


async def test_outbox_rows_from_before_digests_are_compared_by_kind_and_clock(tmp_path: Path) -> None:
    db = Database(tmp_path / "edge.sqlite3")
    await db.open()
    try:
        outbox = Outbox(db)
        payload = encode(SosPress(device_id="card-1", seq=5, ts=NOW))
        old = _sos_event(payload).model_copy(update={"digest": None})
        assert (await outbox.add(old, now_ms=NOW)).new
        assert not (await outbox.add(_sos_event(payload), now_ms=NOW + 1)).new  # the same press
        later = encode(SosPress(device_id="card-1", seq=5, ts=NOW + 1))
        assert (await outbox.add(_sos_event(later, ts=NOW + 1), now_ms=NOW + 2)).new
    finally:
        await db.close()


async def test_an_alarm_refused_as_another_gateways_is_rerouted_as_unassigned(tmp_path: Path) -> None:
    db = Database(tmp_path / "edge.sqlite3")
    await db.open()
    try:
        outbox = Outbox(db)
        await outbox.add(_sos_event(b"x"), now_ms=NOW)
        [row] = await outbox.heads(now_ms=NOW, limit=1)
        flagged = await outbox.reroute_unassigned(row.id, row.body, now_ms=NOW + 1)
        assert flagged is not None and flagged.unassigned and flagged.key == row.key
        [again] = await outbox.heads(now_ms=NOW + 1, limit=1)
        assert EdgeEvent.model_validate_json(again.body).unassigned and again.attempts == 1
        assert await outbox.reroute_unassigned(again.id, again.body, now_ms=NOW + 2) is None  # once only
    finally:
        await db.close()


def test_pipeline_keys_events_by_boot_and_carries_digest_and_flag() -> None:
    pipeline = Pipeline("edge-1")
    sos = SosPress(device_id="card-1", boot=2, seq=5, ts=NOW)
    outcome = pipeline.handle(sos, NOW, digest="0123456789abcdef", unassigned=True)
    [event] = outcome.events
    assert (event.key, event.boot, event.digest, event.unassigned) == (
        "card-1:b2.5",
        2,
        "0123456789abcdef",
        True,
    )
    assert outcome.ack is not None and (outcome.ack.ref_boot, outcome.ack.incident_key) == (2, "card-1:b2.5")


def test_an_intake_race_is_retried_not_parked() -> None:
    """The intake answers 409 when an event lost a write race three times: the alarm must be sent again."""
    request = httpx.Request("POST", "http://cloud/api/v1/intake/events")
    with pytest.raises(CloudUnavailable):
        raise_for_answer(httpx.Response(409, request=request, json={"error": "conflict"}))
    with pytest.raises(CloudRejected):
        raise_for_answer(httpx.Response(403, request=request, json={"error": "forbidden"}))


async def test_an_outbox_file_from_before_digests_gets_the_column_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "edge.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, device_id TEXT NOT NULL,
            priority INTEGER NOT NULL, kind TEXT NOT NULL, body BLOB NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
            next_try_ms INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL, done_ms INTEGER, error TEXT
        );
        """
    )
    payload = encode(SosPress(device_id="card-1", seq=5, ts=NOW))
    v1_body = _sos_event(payload).model_copy(update={"digest": None, "boot": 0})
    old.execute(
        "INSERT INTO outbox (key, device_id, priority, kind, body, created_ms) VALUES (?, ?, 1, 'sos', ?, 0)",
        ("card-1:5", "card-1", encode(v1_body)),
    )
    old.commit()
    old.close()
    db = Database(path)
    await db.open()
    try:
        outbox = Outbox(db)
        assert not (await outbox.add(_sos_event(payload), now_ms=NOW)).new  # the same press, redelivered
        [row] = await outbox.heads(now_ms=NOW, limit=5)
        assert row.key == "card-1:5" and EdgeEvent.model_validate_json(row.body).key == "card-1:5"
    finally:
        await db.close()
