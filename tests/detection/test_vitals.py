"""Vital-sign detector on synthetic minute-by-minute readings."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from contracts.intake import Severity
from edge.detection.errors import OutOfOrderError
from edge.detection.events import DetectionEvent, EventKind
from edge.detection.vitals import VitalLimits, VitalsDetector

MIN = 60_000


def feed(
    det: VitalsDetector,
    hr: Sequence[float | None],
    spo2: Sequence[float | None] | None = None,
    start_min: int = 0,
) -> list[DetectionEvent]:
    spo2 = spo2 if spo2 is not None else [97.0] * len(hr)
    out: list[DetectionEvent] = []
    for i, (h, s) in enumerate(zip(hr, spo2, strict=True)):
        out += det.update((start_min + i) * MIN, h, s)
    return out


def test_three_consecutive_high_minutes_alarm_once_with_trend() -> None:
    events = feed(VitalsDetector("p"), [80, 82, 140, 142, 145, 150, 149])
    assert [e.kind for e in events] == [EventKind.HR_HIGH]
    ev = events[0]
    assert ev.severity is Severity.P2 and ev.reason == "hr_above_limit"
    assert ev.onset_ms == 2 * MIN and ev.t_ms == 4 * MIN
    assert ev.measure("limit") == 130.0
    assert [p.hr_bpm for p in ev.evidence.vitals][-3:] == [140, 142, 145]


def test_two_high_minutes_are_not_enough() -> None:
    assert feed(VitalsDetector("p"), [120, 140, 142, 120, 140, 141, 120]) == []


def test_low_hr_and_low_spo2() -> None:
    kinds = {e.kind for e in feed(VitalsDetector("p"), [60, 35, 34, 33, 36], [97, 85, 84, 83, 86])}
    assert kinds == {EventKind.HR_LOW, EventKind.SPO2_LOW}


def test_personal_limits_from_the_care_plan() -> None:
    det = VitalsDetector("p", VitalLimits(hr_high_bpm=110))
    assert [e.kind for e in feed(det, [100, 115, 116, 117])] == [EventKind.HR_HIGH]


@pytest.mark.parametrize("artifact", [None, 0.0, -1.0, float("nan"), 400.0])
def test_sensor_off_codes_and_impossible_values_never_alarm(artifact: float | None) -> None:
    det = VitalsDetector("p")
    assert (
        feed(
            det,
            [70, artifact, artifact, artifact, artifact, 72],
            [97, artifact, artifact, artifact, artifact, 97],
        )
        == []
    )


def test_a_single_spike_is_rejected_but_a_confirmed_jump_is_kept() -> None:
    # spikes of +70 bpm alternating with normal values: each is an unconfirmed jump
    assert feed(VitalsDetector("p"), [70, 140, 70, 140, 70, 141, 70, 139, 70]) == []
    events = feed(VitalsDetector("p"), [70, 71, 150, 152, 151, 153])
    assert [e.kind for e in events] == [EventKind.HR_HIGH]


def test_motion_flagged_readings_are_ignored() -> None:
    det = VitalsDetector("p")
    events = [e for i in range(6) for e in det.update(i * MIN, 150.0, 80.0, motion=True)]
    assert events == []


def test_a_long_gap_restarts_the_count() -> None:
    det = VitalsDetector("p")
    events = feed(det, [140, 141, None, None, None, None, 142], [97] * 7)
    assert events == []


def test_drift_from_personal_baseline() -> None:
    det = VitalsDetector("p")
    stable = [60.0 + (i % 5) for i in range(180)]
    assert feed(det, stable) == []
    events = feed(det, [95.0 + (i % 3) for i in range(40)], start_min=180)
    assert [e.reason for e in events] == ["hr_drift_up"]
    assert events[0].kind is EventKind.VITALS_DRIFT and events[0].measure("baseline") == pytest.approx(
        62, abs=1
    )


def test_time_going_backwards_raises() -> None:
    det = VitalsDetector("p")
    det.update(5 * MIN, 70.0, 97.0)
    with pytest.raises(OutOfOrderError):
        det.update(4 * MIN, 70.0, 97.0)
