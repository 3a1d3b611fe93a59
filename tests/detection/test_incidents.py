"""Incident builder: dedupe, cooldown, cancel policy, evidence."""

from __future__ import annotations

import pytest

from contracts.intake import Severity
from edge.detection.errors import OutOfOrderError
from edge.detection.events import AccelWindow, DetectionEvent, EventKind, Evidence, VitalPoint
from edge.detection.incidents import CancelWindow, IncidentAction, IncidentBuilder, IncidentStatus

S = 1_000


def ev(kind: EventKind, t_ms: int, source: str = "dev", evidence: Evidence | None = None) -> DetectionEvent:
    return DetectionEvent(
        kind=kind,
        source_id=source,
        t_ms=t_ms,
        onset_ms=t_ms - 2 * S,
        reason="r",
        evidence=evidence or Evidence(),
    )


def test_events_within_cooldown_join_later_ones_open_a_new_incident() -> None:
    b = IncidentBuilder(cooldown_s=60)
    first = b.add(ev(EventKind.HR_HIGH, 0))[0]
    assert first.action is IncidentAction.OPENED and first.incident.severity is Severity.P2
    joined = b.add(ev(EventKind.HR_HIGH, 50 * S))[0]
    assert joined.action is IncidentAction.JOINED and joined.incident.key == first.incident.key
    assert joined.incident.event_count == 2
    assert b.add(ev(EventKind.HR_HIGH, 200 * S))[0].action is IncidentAction.OPENED


def test_kinds_and_sources_are_separate() -> None:
    b = IncidentBuilder()
    keys = {b.add(ev(k, 0, s))[0].incident.key for k in (EventKind.FALL, EventKind.SPO2_LOW) for s in "ab"}
    assert len(keys) == 4


def test_cancel_within_window_updates_to_cancelled() -> None:
    b = IncidentBuilder(cancel_window=CancelWindow(window_s=30))
    opened = b.add(ev(EventKind.FALL, 10 * S))[0].incident
    updates = b.cancel("dev", 25 * S)
    assert [u.action for u in updates] == [IncidentAction.CANCELLED]
    inc = updates[0].incident
    assert inc.key == opened.key and inc.status is IncidentStatus.CANCELLED and inc.cancel_ms == 25 * S


def test_late_cancel_is_recorded_but_incident_stays_open() -> None:
    b = IncidentBuilder(cancel_window=CancelWindow(window_s=30))
    b.add(ev(EventKind.FALL, 0))
    updates = b.cancel("dev", 90 * S)
    assert [u.action for u in updates] == [IncidentAction.CANCEL_LATE]
    assert updates[0].incident.status is IncidentStatus.OPEN


def test_cancel_before_the_event_is_remembered() -> None:
    b = IncidentBuilder()
    assert b.cancel("dev", 12 * S) == []
    updates = b.add(ev(EventKind.FALL, 10 * S))
    assert [u.action for u in updates] == [IncidentAction.OPENED, IncidentAction.CANCELLED]


def test_vitals_are_not_cancellable() -> None:
    b = IncidentBuilder()
    b.add(ev(EventKind.SPO2_LOW, 0))
    b.cancel("dev", 5 * S)
    current = b.current("dev", EventKind.SPO2_LOW)
    assert current is not None and current.status is IncidentStatus.OPEN


def test_a_new_fall_after_a_cancel_opens_a_new_incident() -> None:
    b = IncidentBuilder()
    b.add(ev(EventKind.FALL, 0))
    b.cancel("dev", 5 * S)
    assert b.add(ev(EventKind.FALL, 20 * S))[0].action is IncidentAction.OPENED


def test_evidence_keeps_the_impact_and_the_newest_trend() -> None:
    accel = AccelWindow(t0_ms=0, rate_hz=50, samples=((0.0, -1.0, 0.0),))
    b = IncidentBuilder()
    b.add(ev(EventKind.FALL, 0, evidence=Evidence(accel=accel)))
    trend = (VitalPoint(t_ms=1, hr_bpm=90, spo2_pct=None),)
    inc = b.add(ev(EventKind.FALL, S, evidence=Evidence(vitals=trend)))[0].incident
    assert inc.evidence.accel == accel and inc.evidence.vitals == trend


def test_out_of_order_event_raises() -> None:
    b = IncidentBuilder()
    b.add(ev(EventKind.FALL, 10 * S))
    with pytest.raises(OutOfOrderError):
        b.add(ev(EventKind.FALL, 5 * S))
