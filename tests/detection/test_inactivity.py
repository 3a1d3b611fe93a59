"""Inactivity detector: waking-hours accounting and learned usual quiet time."""

from __future__ import annotations

from contracts.intake import Severity
from edge.detection.events import EventKind
from edge.detection.inactivity import InactivityConfig, InactivityDetector, waking_ms_between

H = 3_600_000
# 2024-01-01 00:00 at UTC+8 (a Monday) in Unix ms
MIDNIGHT = 1_704_038_400_000
CFG = InactivityConfig(wake_min=7 * 60, sleep_min=22 * 60, utc_offset_min=8 * 60)


def test_waking_time_skips_the_night() -> None:
    assert waking_ms_between(MIDNIGHT + 21 * H, MIDNIGHT + 24 * H + 8 * H, CFG) == 2 * H
    assert waking_ms_between(MIDNIGHT + 23 * H, MIDNIGHT + 24 * H + 6 * H, CFG) == 0


def test_quiet_afternoon_raises_one_wellness_check() -> None:
    det = InactivityDetector("p", CFG)
    det.activity(MIDNIGHT + 9 * H)
    assert det.tick(MIDNIGHT + 11 * H) == []
    events = det.tick(MIDNIGHT + 12 * H + 1)
    assert [e.kind for e in events] == [EventKind.INACTIVITY]
    assert events[0].severity is Severity.P3 and events[0].onset_ms == MIDNIGHT + 9 * H
    assert det.tick(MIDNIGHT + 13 * H) == []  # once per quiet spell
    det.activity(MIDNIGHT + 14 * H)
    assert det.tick(MIDNIGHT + 15 * H) == []


def test_sleeping_through_the_night_is_not_inactivity() -> None:
    det = InactivityDetector("p", CFG)
    det.activity(MIDNIGHT + 21 * H + 30 * 60_000)
    assert det.tick(MIDNIGHT + 24 * H + 7 * H + 30 * 60_000) == []


def test_threshold_is_learned_from_the_persons_usual_gaps() -> None:
    det = InactivityDetector("p", CFG)
    t = MIDNIGHT + 8 * H
    for _ in range(30):  # someone who moves every 30 minutes
        det.activity(t)
        t += H // 2
    assert det.threshold_s() == CFG.min_quiet_s
