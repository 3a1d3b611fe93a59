"""The impact features on hand-made signals: values with a known answer, invariance
to device orientation and sensor calibration, and the posture-change gate."""

from __future__ import annotations

import json

import numpy as np
import pytest
from synthetic_signals import RATE, UP, fall, random_rotation

from edge.detection.errors import DetectionError
from edge.detection.fall_features import (
    FEATURE_NAMES,
    ORIENTATION_FEATURE,
    SampleWindows,
    impact_features,
    pre_impact_velocity,
    time_above,
)
from edge.detection.fall_model import FallModel, load_default_model

WIN = SampleWindows.at_rate(RATE)


def _features(acc: np.ndarray, k: int, rate: float = RATE) -> dict[str, float]:
    mag = np.linalg.norm(acc, axis=1)
    values = impact_features(acc, mag, k, rate, SampleWindows.at_rate(rate))
    return dict(zip(FEATURE_NAMES, values.tolist(), strict=True))


def _drop(rate: float, gain: float = 1.0) -> tuple[np.ndarray, int]:
    """3 s standing still, 0.3 s of free fall (|a| = 0), a 0.1 s 4 g impact, 3 s still."""

    def n(seconds: float) -> int:
        return round(seconds * rate)

    mag = np.concatenate([np.ones(n(3.0)), np.zeros(n(0.3)), np.full(n(0.1), 4.0), np.ones(n(3.0))])
    acc = gain * mag[:, None] * UP
    return acc, n(3.3)  # the first impact sample is the peak


@pytest.mark.parametrize("rate", [50.0, 100.0])
def test_free_fall_gives_its_duration_and_velocity(rate: float) -> None:
    acc, k = _drop(rate)
    f = _features(acc, k, rate)
    assert f["freefall_s"] == pytest.approx(0.3, abs=1.5 / rate)
    assert f["pre_impact_velocity_mps"] == pytest.approx(-0.3 * 9.81, abs=0.05)
    assert f["impact_duration_s"] == pytest.approx(0.1, abs=1.5 / rate)
    assert np.exp(f["log_impact_excess_g_s"]) == pytest.approx(0.1 * 2.7, rel=0.05)
    assert np.exp(f["log_pre_std_g"]) == pytest.approx(0.01)  # still before: noise floor


def test_velocity_uses_the_sensors_own_one_g() -> None:
    """A sensor reading 1.08 g at rest must not drift into a fake fall velocity."""
    acc, k = _drop(RATE, gain=1.08)
    v = pre_impact_velocity(np.linalg.norm(acc, axis=1), k, RATE, WIN)
    assert v == pytest.approx(-0.3 * 9.81 * 1.08, abs=0.05)
    still = 1.08 * np.tile(UP, (400, 1))
    assert pre_impact_velocity(np.linalg.norm(still, axis=1), 300, RATE, WIN) == pytest.approx(0.0)


def test_a_one_sample_knock_is_a_short_impact() -> None:
    acc = np.tile(UP, (400, 1)).astype(np.float64)
    acc[200] = UP * 3.0
    f = _features(acc, 200)
    # read as linear between samples: 1 -> 3 -> 1 g is above 1.5 g for 0.75 + 0.75 samples
    assert f["impact_duration_s"] == pytest.approx(1.5 / RATE)
    assert f["freefall_s"] == 0.0


@pytest.mark.parametrize("rate", [25.0, 50.0, 100.0, 200.0])
def test_time_above_a_level_does_not_depend_on_the_sampling_rate(rate: float) -> None:
    """A 0.2 s triangular pulse from 1 g to 3 g is above 1.5 g for 0.15 s at any rate."""
    t = np.arange(-0.5, 0.5, 1.0 / rate)
    pulse = 1.0 + np.clip(2.0 - np.abs(t) * 20.0, 0.0, None)
    assert time_above(pulse, 1.5) / rate == pytest.approx(0.15, abs=1e-9)
    assert time_above(np.ones(10), 1.5) == 0.0


def _turn(rate: float, turn_s: float) -> tuple[np.ndarray, int]:
    """Standing still 3 s, then gravity turns by 90° at a constant rate over ``turn_s``,
    then a one-sample 3 g impact and 3 s lying still."""
    n_turn = round(turn_s * rate)
    still = round(3 * rate)
    angles = np.r_[np.zeros(still), np.linspace(0.0, np.pi / 2, n_turn), np.full(still, np.pi / 2)]
    acc = np.column_stack([np.sin(angles), np.zeros_like(angles), np.cos(angles)])
    k = still + n_turn
    acc[k] *= 3.0
    return acc, k


@pytest.mark.parametrize("rate", [50.0, 100.0])
def test_a_gradual_turn_lasts_longer_and_turns_slower_than_a_brisk_one(rate: float) -> None:
    slow = _features(*_turn(rate, 1.2), rate)
    brisk = _features(*_turn(rate, 0.3), rate)
    assert brisk["orientation_change"] == pytest.approx(1.0, abs=0.01)
    # 10 % -> 90 % of a constant-rate turn is 80 % of it (the 0.2 s smoothing blurs the ends)
    assert slow["rotation_duration_s"] == pytest.approx(0.8 * 1.2, abs=0.1)
    assert brisk["rotation_duration_s"] == pytest.approx(0.8 * 0.3, abs=0.1)
    # the 3 g impact sample weighs more in the 0.2 s average, so the turn looks a bit faster
    assert slow["max_rotation_dps"] == pytest.approx(90.0 / 1.2, rel=0.2)
    assert brisk["max_rotation_dps"] == pytest.approx(90.0 / 0.3, rel=0.25)
    assert brisk["max_rotation_dps"] > 2.5 * slow["max_rotation_dps"]


@pytest.mark.parametrize("seed", range(3))
def test_features_do_not_depend_on_device_orientation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    signal, impact_s = fall(rng)
    k = round(impact_s * RATE)
    rotated = signal @ random_rotation(rng).T
    assert np.allclose(list(_features(signal, k).values()), list(_features(rotated, k).values()), atol=1e-9)


def test_gate_zeroes_impacts_without_posture_change() -> None:
    n = len(FEATURE_NAMES)
    model = FallModel(
        feature_names=FEATURE_NAMES,
        mean=(0.0,) * n,
        scale=(1.0,) * n,
        coef=(1.0,) * n,
        intercept=10.0,
        threshold=0.5,
        trigger_g=2.0,
        min_orientation_change=0.5,
    )
    features = np.ones(n)
    assert model.probability(features) > 0.99
    features[ORIENTATION_FEATURE] = 0.49
    assert model.probability(features) == 0.0
    features[ORIENTATION_FEATURE] = np.nan
    assert model.probability(features) == 0.0


def test_hinge_terms_penalise_values_outside_the_knots() -> None:
    n = len(FEATURE_NAMES)
    hinged = FallModel(
        feature_names=FEATURE_NAMES,
        mean=(0.0,) * (3 * n),
        scale=(1.0,) * (3 * n),
        coef=(0.0,) * n + (-1.0,) * (2 * n),
        intercept=3.0,
        threshold=0.5,
        trigger_g=2.0,
        hinge_low=(0.0,) * n,
        hinge_high=(2.0,) * n,
    )
    inside = np.ones(n)
    assert hinged.terms(inside).tolist() == [1.0] * n + [0.0] * (2 * n)
    assert hinged.probability(inside) == pytest.approx(1 / (1 + np.exp(-3.0)))
    below = inside.copy()
    below[0] = -2.0  # 2 below its low knot
    above = inside.copy()
    above[1] = 4.0  # 2 above its high knot
    assert hinged.probability(below) == pytest.approx(1 / (1 + np.exp(-1.0)))
    assert hinged.probability(above) == pytest.approx(1 / (1 + np.exp(-1.0)))
    assert hinged.terms(np.vstack([inside, below])).shape == (2, 3 * n)


def test_hinge_knots_must_match_the_features() -> None:
    raw = json.loads(load_default_model().to_json())
    assert len(raw["hinge_low"]) == len(raw["feature_names"])  # the shipped model is additive
    FallModel.from_dict(raw)
    raw["hinge_high"] = raw["hinge_high"][:-1]
    with pytest.raises(DetectionError):
        FallModel.from_dict(raw)


def test_a_model_file_without_a_gate_loads_ungated() -> None:
    raw = json.loads(load_default_model().to_json())
    del raw["min_orientation_change"]
    model = FallModel.from_dict(raw)
    assert model.min_orientation_change == 0.0


def test_a_model_file_of_the_older_12_feature_layout_still_loads_and_scores() -> None:
    older = FEATURE_NAMES[:12]
    model = FallModel.from_dict(
        {
            "feature_names": list(older),
            "mean": [0.0] * 12,
            "scale": [1.0] * 12,
            "coef": [1.0] + [0.0] * 11,
            "intercept": 0.0,
            "threshold": 0.5,
            "trigger_g": 2.0,
        }
    )
    features = np.ones(len(FEATURE_NAMES))
    features[12:] = 1e6  # features the older model does not know are not read
    assert model.probability(features) == pytest.approx(1 / (1 + np.exp(-1.0)))
    with pytest.raises(DetectionError):
        FallModel.from_dict({**json.loads(model.to_json()), "feature_names": list(reversed(older))})


def test_a_fall_has_turned_before_it_lands_a_bed_turn_lands_mid_turn() -> None:
    """rotation_at_impact: the share of the posture change done at the peak."""
    fell = _features(*_turn(RATE, 0.6))  # the impact comes when the 90° turn is over
    acc, k = _turn(RATE, 0.6)
    k_mid = k - round(0.3 * RATE)  # a bump half-way through the same turn
    acc[k] /= 3.0
    acc[k_mid] *= 3.0
    mid = _features(acc, k_mid)
    assert fell["rotation_at_impact"] == pytest.approx(0.95, abs=0.1)
    assert mid["rotation_at_impact"] == pytest.approx(0.5, abs=0.15)


def test_second_peak_ratio_is_the_largest_other_bump_over_the_peak() -> None:
    acc = np.tile(UP, (400, 1)).astype(np.float64)
    acc[200] = UP * 4.0
    assert _features(acc, 200)["second_peak_ratio"] == pytest.approx(1.0 / 4.0)
    acc[235] = UP * 3.0  # a second bump 0.7 s later (outside ±0.3 s, within 1 s)
    acc[210] = UP * 3.5  # inside ±0.3 s: part of the same impact, not counted
    assert _features(acc, 200)["second_peak_ratio"] == pytest.approx(3.0 / 4.0)


def _clapping(rate: float, period_s: float, n_claps: int) -> tuple[np.ndarray, int]:
    """An arm held still, then ``n_claps`` one-sample 3 g claps every ``period_s``; the last
    clap is the peak, with the arm still waving (direction swinging ±30° at 2 Hz) after it."""
    still = round(4.0 * rate)
    gap = round(period_s * rate)
    after = round(3.0 * rate)
    n = still + gap * n_claps + after
    acc = np.tile(UP, (n, 1)).astype(np.float64)
    claps = [still + gap * (i + 1) for i in range(n_claps)]
    for c in claps:
        acc[c] = UP * 3.0
    k = claps[-1]
    t = np.arange(after) / rate
    swing = np.radians(30.0) * np.sin(2 * np.pi * 2.0 * t)
    acc[k + 1 :] = np.column_stack([np.sin(swing), np.zeros_like(swing), np.cos(swing)])[: n - k - 1]
    return acc, k


@pytest.mark.parametrize("rate", [50.0, 100.0])
def test_repeated_claps_are_counted_and_periodic(rate: float) -> None:
    f = _features(*_clapping(rate, 0.4, 8), rate)
    # claps at -0.4 .. -2.8 s before the peak lie in [-3.0, -0.3] s: 7 of them
    assert f["pre_peak_count"] == 7
    assert f["pre_periodicity"] > 0.5
    # the arm keeps swinging after the last clap: its direction spreads by ~30 / sqrt(2) degrees
    assert f["post_direction_deg"] == pytest.approx(30.0 / np.sqrt(2.0), rel=0.15)


@pytest.mark.parametrize("rate", [50.0, 100.0])
def test_a_single_drop_has_no_repeat_and_a_still_posture_after(rate: float) -> None:
    acc, k = _drop(rate)
    f = _features(acc, k, rate)
    assert f["pre_peak_count"] == 0
    assert f["pre_periodicity"] == 0.0  # flat before the drop: no rhythm to find
    assert f["post_direction_deg"] == pytest.approx(0.0, abs=1e-3)


def test_claps_closer_than_the_minimum_gap_count_once() -> None:
    acc, k = _clapping(RATE, 0.4, 8)
    acc[k - 20 + 3] = UP * 3.0  # a second bump 0.06 s after the clap at -0.4 s
    assert _features(acc, k)["pre_peak_count"] == 7


def test_models_of_fewer_features_score_the_longer_vector() -> None:
    """A model fitted on the first 14 features (the shipped layout) ignores appended ones."""
    model = load_default_model("waist")
    rng = np.random.default_rng(3)
    signal, impact_s = fall(rng)
    k = round(impact_s * RATE)
    mag = np.linalg.norm(signal, axis=1)
    feats = impact_features(signal, mag, k, RATE, WIN)
    n = len(model.feature_names)
    assert len(feats) == len(FEATURE_NAMES) >= n
    changed = feats.copy()
    changed[n:] += 100.0
    assert model.probability(changed) == model.probability(feats)
