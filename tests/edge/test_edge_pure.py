"""Unit tests of the gateway's pure parts: sequence window, SSE parser, backoff, settings, pipeline."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import EventKind, FallSuspected, SosCancel, SosPress, Status, WearState
from edge.delivery.backoff import Backoff
from edge.delivery.sse import SseEvent, SseParser
from edge.detection.detectors import DeviceFacts
from edge.ingest.sequence import SequenceTracker, Verdict
from edge.pipeline import Pipeline
from edge.settings import parse_mqtt_url

TS = 1_764_000_000_000


# -- sequence window -------------------------------------------------------------------------------
def test_new_then_exact_repeat_is_replayed() -> None:
    seq = SequenceTracker(window=8)
    assert seq.check("d", 10, TS) is Verdict.NEW
    assert seq.check("d", 10, TS) is Verdict.REPLAYED
    assert seq.check("d", 11, TS + 1) is Verdict.NEW


def test_out_of_order_within_window_is_accepted_once() -> None:
    seq = SequenceTracker(window=8)
    for s in (1, 2, 5):
        assert seq.check("d", s, TS + s) is Verdict.NEW
    assert seq.check("d", 4, TS + 4) is Verdict.OUT_OF_ORDER
    assert seq.check("d", 3, TS + 3) is Verdict.OUT_OF_ORDER
    assert seq.check("d", 4, TS + 4) is Verdict.REPLAYED


def test_far_behind_is_stale_unless_the_device_clock_moved_on() -> None:
    seq = SequenceTracker(window=8)
    assert seq.check("d", 100, TS + 100) is Verdict.NEW
    assert seq.check("d", 50, TS + 50) is Verdict.STALE  # old clock: a replay
    assert seq.check("d", 0, TS + 1_000) is Verdict.RESTARTED  # newer clock: counter restarted
    assert seq.check("d", 1, TS + 1_001) is Verdict.NEW


def test_restart_inside_the_window_is_not_mistaken_for_a_replay() -> None:
    seq = SequenceTracker(window=256)
    for s in range(5):
        seq.check("d", s, TS + s)
    assert seq.check("d", 2, TS + 2) is Verdict.REPLAYED
    assert seq.check("d", 2, TS + 60_000) is Verdict.RESTARTED


def test_unmarked_seq_is_accepted_again() -> None:
    seq = SequenceTracker(window=8)
    assert seq.check("d", 5, TS) is Verdict.NEW
    seq.unmark("d", 5)  # could not be stored
    assert seq.check("d", 5, TS) is Verdict.OUT_OF_ORDER
    assert seq.check("d", 5, TS) is Verdict.REPLAYED


def test_devices_are_independent() -> None:
    seq = SequenceTracker(window=4)
    assert seq.check("a", 1, TS) is Verdict.NEW
    assert seq.check("b", 1, TS) is Verdict.NEW
    assert len(seq) == 2


@given(st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=200))
def test_every_seq_is_accepted_at_most_once_while_in_window(seqs: list[int]) -> None:
    tracker = SequenceTracker(window=512)  # wider than the range: nothing is ever stale
    accepted: list[int] = []
    for s in seqs:
        if tracker.check("d", s, TS + s).accepted:
            accepted.append(s)
    assert sorted(accepted) == sorted(set(seqs))


# -- SSE parser ------------------------------------------------------------------------------------
def feed(parser: SseParser, text: str) -> list[SseEvent]:
    events = [parser.feed_line(line) for line in text.split("\n")]
    return [e for e in events if e is not None]


def test_sse_events_ids_and_comments() -> None:
    parser = SseParser()
    events = feed(parser, ': keep-alive\n\nid: 7\ndata: {"a":\ndata: 1}\n\nevent: ping\ndata: x\n\n')
    assert events == [SseEvent("message", '{"a":\n1}', "7"), SseEvent("ping", "x", "7")]
    assert parser.last_event_id == "7"


def test_sse_field_without_space_retry_and_crlf() -> None:
    parser = SseParser(last_event_id="3")
    assert feed(parser, "retry: 1500\r\ndata:raw\r\n\r\n") == [SseEvent("message", "raw", "3")]
    assert parser.retry_ms == 1500


def test_sse_event_without_data_is_not_dispatched() -> None:
    parser = SseParser()
    assert feed(parser, "id: 9\n\n") == []
    assert parser.last_event_id == "9"


# -- backoff ---------------------------------------------------------------------------------------
def test_backoff_grows_caps_and_resets() -> None:
    backoff = Backoff(0.5, 4.0, rand=lambda: 1.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_backoff_jitter_keeps_at_least_half() -> None:
    backoff = Backoff(1.0, 8.0, rand=lambda: 0.0)
    assert [backoff.next_delay() for _ in range(3)] == [0.5, 1.0, 2.0]
    assert backoff.ceiling(1_000) == 8.0


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(0.0, 1.0)


# -- settings --------------------------------------------------------------------------------------
def test_mqtt_url_parts() -> None:
    url = parse_mqtt_url("mqtts://edge%40x:p%3Ass@broker.local")
    assert (url.host, url.port, url.tls, url.username, url.password) == (
        "broker.local",
        8883,
        True,
        "edge@x",
        "p:ss",
    )
    assert parse_mqtt_url("mqtt://127.0.0.1:1999").port == 1999
    with pytest.raises(ValueError, match="mqtt"):
        parse_mqtt_url("http://broker")


# -- pipeline --------------------------------------------------------------------------------------
def test_alarms_become_events_with_an_ack() -> None:
    pipeline = Pipeline("edge-1")
    outcome = pipeline.handle(SosPress(device_id="c1", seq=4, ts=TS), received_ms=TS + 50)
    [event] = outcome.events
    assert (event.key, event.kind, event.severity.value, event.edge_ts) == (
        "c1:4",
        EventKind.SOS,
        "P1",
        TS + 50,
    )
    assert outcome.ack is not None and outcome.ack.incident_key == "c1:4"
    fall = pipeline.handle(FallSuspected(device_id="w1", seq=2, ts=TS, peak_g=4.2), received_ms=TS)
    assert fall.events[0].kind is EventKind.FALL_DEVICE and fall.ack is not None
    cancel = pipeline.handle(SosCancel(device_id="c1", seq=5, ts=TS, ref_seq=4), received_ms=TS)
    assert cancel.events[0].ref_key == "c1:4" and cancel.ack is None


def test_device_facts_raise_once_per_transition() -> None:
    pipeline = Pipeline("edge-1", [DeviceFacts()])

    def status(seq: int, low: bool) -> list[str]:
        msg = Status(device_id="c1", seq=seq, ts=TS + seq, battery_pct=9, low_battery=low)
        return [e.key for e in pipeline.handle(msg, TS).events]

    assert status(1, True) == ["c1:1.low_battery"]
    assert status(2, True) == []
    assert status(3, False) == []
    assert status(4, True) == ["c1:4.low_battery"]
    removed = WearState(device_id="w1", seq=1, ts=TS, state="removed")
    assert [e.kind for e in pipeline.handle(removed, TS).events] == [EventKind.STRAP_REMOVED]


@pytest.mark.expect_logged_errors("detector.failed")
def test_a_failing_detector_is_isolated() -> None:
    class Broken:
        name = "broken"

        def observe(self, message: object, received_ms: int) -> list[object]:
            raise RuntimeError("boom")

        def tick(self, now_ms: int) -> list[object]:
            raise RuntimeError("boom")

    pipeline = Pipeline("edge-1", [Broken(), DeviceFacts()])  # type: ignore[list-item]
    msg = Status(device_id="c1", seq=1, ts=TS, battery_pct=5, low_battery=True)
    assert [e.kind for e in pipeline.handle(msg, TS).events] == [EventKind.LOW_BATTERY]
    assert pipeline.failures == {"broken": 1}
    assert pipeline.tick(TS) == []
    assert pipeline.failures == {"broken": 2}


def test_registry_snapshot_takes_numeric_subject_ids_and_skips_bad_rows() -> None:
    from edge.registry.store import parse_snapshot

    good, bad = parse_snapshot(
        [
            {"device_id": "card-1", "kind": "sos_card", "subject_id": 7},
            {"device_id": "wear-1", "kind": "wearable", "subject_id": "p-2"},
            {"device_id": "bad/id", "kind": "wearable"},
            {"device_id": "x-1", "kind": "toaster"},
        ]
    )
    assert [(d.device_id, d.subject_id) for d in good] == [("card-1", "7"), ("wear-1", "p-2")]
    assert bad == 2
    with pytest.raises(ValueError, match="list"):
        parse_snapshot("nope")
