"""The low-impact path: soft falls below the 2 g trigger, on synthetic signals."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from synthetic_signals import (
    RATE,
    batches,
    fall,
    random_rotation,
    slump_from_sitting,
    soft_roll_in_bed,
    walking,
)
from test_upright import roll_in_bed

from edge.detection.errors import DetectionError
from edge.detection.fall import LOW_IMPACT, FallDetector, FallScorer
from edge.detection.fall_model import FallModel, load_default_model

T0 = 1_000_000


def _events(det: FallDetector, signal: np.ndarray) -> list[object]:
    return [e for b, t in batches(signal, 50, T0, RATE) for e in det.update(b, t, RATE)]


def test_the_shipped_waist_model_has_a_low_impact_path() -> None:
    model = load_default_model()
    low = model.low_impact
    assert low is not None and low.trigger_g < model.trigger_g
    assert model.scan_g == low.trigger_g
    assert model.path_for(1.7) is low and model.path_for(2.5) is model


def test_a_slow_slump_from_sitting_below_2g_is_scored_by_the_low_impact_path() -> None:
    signal = slump_from_sitting(np.random.default_rng(3))
    assert float(np.linalg.norm(signal, axis=1).max()) < 2.0
    scorer = FallScorer(load_default_model(), learn_upright=False)
    hits = [h for b, t in batches(signal, 50, T0, RATE) for h in scorer.update(b, t, RATE)]
    assert [h.path for h in hits] == [LOW_IMPACT]
    assert hits[0].orientation_change_deg > 60


@pytest.mark.parametrize("seed", range(3))
def test_a_slow_slump_from_sitting_is_detected_in_any_orientation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    signal = slump_from_sitting(rng) @ random_rotation(rng).T
    events = _events(FallDetector("dev"), signal)
    assert len(events) == 1
    assert events[0].reason == "soft_fall_then_posture_change"  # type: ignore[attr-defined]


def test_rolling_over_in_bed_softly_does_not_alarm_even_per_trial() -> None:
    rng = np.random.default_rng(5)
    assert _events(FallDetector("dev"), soft_roll_in_bed(rng)) == []


def test_rolling_over_in_bed_with_a_hard_bounce_is_vetoed_once_the_upright_is_known() -> None:
    """Continuous wear (the gateway's default): the wearer walked after putting the
    device on, so lying before the roll is known and the roll is vetoed."""
    rng = np.random.default_rng(5)
    det = FallDetector("dev")
    signal = np.concatenate([walking(90, rng), roll_in_bed(rng), soft_roll_in_bed(rng)])
    assert _events(det, signal) == []
    assert det.scorer.upright is not None and det.scorer.upright.confident


def test_walking_peaks_below_2g_are_skipped_before_any_feature_is_computed() -> None:
    """Every step of a walk peaks near 1.6 g: the low path's cheap posture check drops
    them (no scored impact, so throughput does not depend on the lower trigger)."""
    scorer = FallScorer(load_default_model(), learn_upright=False)
    signal = walking(30, np.random.default_rng(6), hi=1.8)
    assert [h for b, t in batches(signal, 50, T0, RATE) for h in scorer.update(b, t, RATE)] == []


def test_a_soft_peak_within_a_second_of_a_hard_impact_is_left_to_the_impact_path() -> None:
    """The last step before a fall (1.6 g, 0.7 s before a 5 g impact, followed by the
    fall's posture change) must not take the alarm: the impact path judges the event."""
    signal, impact_s = fall(np.random.default_rng(1))
    mag = np.linalg.norm(signal, axis=1)
    k = round(impact_s * RATE)
    assert 1.4 <= float(mag[k - 50 : k - 15].max()) < 2.0  # the soft step is there
    scorer = FallScorer(load_default_model(), learn_upright=False)
    hits = [h for b, t in batches(signal, 50, T0, RATE) for h in scorer.update(b, t, RATE)]
    assert [h.path for h in hits] == ["impact"]
    assert hits[0].impact_ms == T0 + round(impact_s * 1000)


def test_without_a_low_impact_path_a_soft_slump_is_not_scored() -> None:
    model = dataclasses.replace(load_default_model(), low_impact=None)
    scorer = FallScorer(model, learn_upright=False)
    signal = slump_from_sitting(np.random.default_rng(3))
    assert [h for b, t in batches(signal, 50, T0, RATE) for h in scorer.update(b, t, RATE)] == []


def test_a_low_impact_path_must_sit_below_the_trigger() -> None:
    model = load_default_model()
    with pytest.raises(DetectionError):
        FallModel.from_dict(
            {**dataclasses.asdict(model), "low_impact": {**dataclasses.asdict(model), "low_impact": None}}
        )
