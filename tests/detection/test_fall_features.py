"""The impact features on hand-made signals: values with a known answer, invariance
to device orientation and sensor calibration, and the posture-change gate."""

from __future__ import annotations

import json

import numpy as np
import pytest
from synthetic_signals import RATE, UP, fall, random_rotation

from edge.detection.fall_features import (
    FEATURE_NAMES,
    ORIENTATION_FEATURE,
    SampleWindows,
    impact_features,
    pre_impact_velocity,
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
    assert f["impact_duration_s"] == pytest.approx(1 / RATE)
    assert f["freefall_s"] == 0.0


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


def test_a_model_file_without_a_gate_loads_ungated() -> None:
    raw = json.loads(load_default_model().to_json())
    del raw["min_orientation_change"]
    model = FallModel.from_dict(raw)
    assert model.min_orientation_change == 0.0
