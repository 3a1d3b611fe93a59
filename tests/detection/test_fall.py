"""Unit tests of the streaming fall detector on synthetic signals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from synthetic_signals import LYING, RATE, UP, batches, fall, jogging, random_rotation, still, walking

from contracts.intake import Severity
from edge.detection.errors import InvalidInputError, OutOfOrderError
from edge.detection.events import EventKind, FallEvent
from edge.detection.fall import FallDetector, FallScorer, PeakThresholdDetector
from edge.detection.fall_model import FallModel, load_default_model

T0 = 1_000_000


def run(
    det: FallDetector | PeakThresholdDetector,
    signal: np.ndarray,
    size: int = 50,
    rate: float = RATE,
    t0: int = T0,
) -> list[FallEvent]:
    out: list[FallEvent] = []
    for batch, t in batches(signal, size, t0, rate):
        out.extend(det.update(batch, t, rate))
    return out


def test_synthetic_fall_is_detected_within_three_seconds() -> None:
    signal, impact_s = fall(np.random.default_rng(1))
    events = run(FallDetector("dev"), signal)
    assert len(events) == 1
    ev = events[0]
    assert ev.kind is EventKind.FALL and ev.severity is Severity.P1 and ev.source_id == "dev"
    assert abs(ev.onset_ms - (T0 + impact_s * 1000)) <= 40
    assert 0 < ev.t_ms - ev.onset_ms <= 3000
    assert ev.peak_g > 4.0 and ev.orientation_change_deg > 60
    assert ev.evidence.accel is not None
    assert len(ev.evidence.accel.samples) == 200  # impact ± 2 s at 50 Hz
    assert ev.evidence.accel.t0_ms == pytest.approx(ev.onset_ms - 2000, abs=20)


@pytest.mark.parametrize("seed", range(5))
def test_fall_is_detected_whatever_the_device_orientation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    signal, _ = fall(rng)
    rotated = signal @ random_rotation(rng).T
    assert len(run(FallDetector("dev"), rotated)) == 1


def test_fall_is_detected_at_another_sampling_rate() -> None:
    signal, _ = fall(np.random.default_rng(2), rate=100.0)
    assert len(run(FallDetector("dev"), signal, size=100, rate=100.0)) == 1


@pytest.mark.parametrize("size", [1, 7, 50, 333, 10_000])
def test_events_do_not_depend_on_batch_size(size: int) -> None:
    signal, _ = fall(np.random.default_rng(3))
    reference = run(FallDetector("dev"), signal, size=50)
    assert run(FallDetector("dev"), signal, size=size) == reference


def test_walking_does_not_alarm() -> None:
    assert run(FallDetector("dev"), walking(120, np.random.default_rng(4))) == []


def test_jogging_does_not_alarm_but_the_naive_baseline_does() -> None:
    signal = jogging(60, np.random.default_rng(5))
    assert run(FallDetector("dev"), signal) == []
    assert len(run(PeakThresholdDetector("dev"), signal)) > 10


def test_lying_down_gently_does_not_alarm() -> None:
    rng = np.random.default_rng(6)
    w = np.linspace(0, 1, 100)[:, None]
    signal = np.concatenate([still(3, UP, rng), (1 - w) * UP + w * LYING, still(10, LYING, rng)])
    assert run(FallDetector("dev"), signal) == []


def test_impact_without_posture_change_or_stillness_does_not_alarm() -> None:
    """A hard stomp while walking: big spike, same posture, walking goes on."""
    rng = np.random.default_rng(7)
    signal = walking(10, rng)
    signal[250:253] = UP * np.array([[3.0], [5.5], [3.0]])
    assert run(FallDetector("dev"), signal) == []


def test_refractory_period_gives_one_event_per_fall() -> None:
    signal, _ = fall(np.random.default_rng(8))
    signal[len(signal) - 100] = LYING * 4.0  # a second knock while lying
    assert len(run(FallDetector("dev"), signal)) == 1


def test_time_going_backwards_raises_and_keeps_state() -> None:
    det = FallDetector("dev")
    rng = np.random.default_rng(9)
    det.update(still(2, UP, rng), T0, RATE)
    with pytest.raises(OutOfOrderError):
        det.update(still(1, UP, rng), T0, RATE)
    assert det.scorer.stream.count == 100


def test_a_gap_starts_a_new_segment() -> None:
    det = FallDetector("dev")
    rng = np.random.default_rng(10)
    det.update(still(2, UP, rng), T0, RATE)
    det.update(still(1, UP, rng), T0 + 60_000, RATE)
    assert det.scorer.stream.segment == 2 and det.scorer.stream.count == 50


def test_malformed_batch_raises_invalid_input() -> None:
    det = FallDetector("dev")
    with pytest.raises(InvalidInputError):
        det.update(np.zeros((10, 2)), T0, RATE)
    with pytest.raises(InvalidInputError):
        det.update(np.zeros((10, 3)), T0, 0.0)


def test_nan_rows_are_held_over_and_do_not_hide_a_fall() -> None:
    signal, impact_s = fall(np.random.default_rng(11))
    signal[10:30] = np.nan
    signal[round(impact_s * RATE) + 120] = np.inf
    assert len(run(FallDetector("dev"), signal)) == 1


def test_model_json_round_trips_and_shipped_model_is_sane() -> None:
    model = load_default_model()
    assert FallModel.from_dict(json.loads(model.to_json())) == model
    assert 0.0 < model.threshold < 1.0 and model.trigger_g >= 1.5
    assert model.provenance


def _lie_down_on_a_bed(rng: np.random.Generator) -> np.ndarray:
    """Sitting still, a quick 0.6 s turn onto the back, one mattress-bounce sample of
    2.6 g (and a 0.3 g rebound), then lying still: what SisFall D13 looks like."""
    w = np.linspace(0, 1, 30)[:, None]
    turn = (1 - w) * UP + w * LYING
    bounce = np.array([LYING * 2.6, LYING * 0.3])
    return np.concatenate([still(4, UP, rng), turn, bounce, still(6, LYING, rng)])


def test_quick_lie_down_with_a_one_sample_bounce_does_not_alarm() -> None:
    rng = np.random.default_rng(12)
    signal = _lie_down_on_a_bed(rng)
    det = FallDetector("dev")
    assert run(det, signal) == []
    # the candidate was scored (it passed the trigger and the posture gate) and rejected
    det2 = FallDetector("dev")
    hits = [h for b, t in batches(signal, 50, T0, RATE) for h in det2.scorer.update(b, t, RATE)]
    assert len(hits) == 1 and hits[0].orientation_change_deg > 80
    assert hits[0].probability < det2.scorer.model.threshold


def test_shipped_model_gates_on_posture_change() -> None:
    model = load_default_model()
    assert model.min_orientation_change > 0
    signal, _ = fall(np.random.default_rng(13))
    # the same fall with no posture change afterwards (the person gets up at once)
    k = round(4.3 * RATE)
    signal[k + 50 :] = walking(len(signal[k + 50 :]) / RATE, np.random.default_rng(14))
    assert run(FallDetector("dev"), signal) == []


def _probability(signal: np.ndarray) -> float:
    scorer = FallScorer(load_default_model(), learn_upright=False)
    hits = [h for b, t in batches(signal, 50, T0, RATE) for h in scorer.update(b, t, RATE)]
    assert len(hits) == 1
    return hits[0].probability


def test_the_same_turn_with_a_lasting_impact_scores_far_higher() -> None:
    """Counterpart of the bed test: the impact lasts 0.12 s after a short drop (a fall
    from a chair), so the impact features lift the score from bed-like to fall-like. It
    does not alarm at the shipped operating point (2026-12-01, threshold 0.93; it scores
    0.84): a quick 0.6 s turn and a 2.6 g impact sit in the range the bed activities
    share with falls."""
    bed = _lie_down_on_a_bed(np.random.default_rng(12))
    fell = bed.copy()
    k = int(np.argmax(np.linalg.norm(fell, axis=1)))
    fell[k - 4 : k - 2] = UP * 0.3
    fell[k - 2 : k + 4] = LYING * 2.6
    assert _probability(bed) < 0.2
    assert _probability(fell) > 0.6
