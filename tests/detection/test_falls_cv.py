"""The inner loop's operating point (tools.falls.cv): by a false-alarm budget (the default)
or by a sensitivity target (the earlier rule), on hand-made scored impacts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from edge.detection.fall import ScoredImpact
from tools.falls.cv import Target, choose_thresholds
from tools.falls.dataset import Trial

FALL_P = (0.995, 0.96, 0.92, 0.6)
ACTIVITY_P = (0.99, 0.97, 0.9, 0.5)  # 4 activity trials of 900 s: one hour of activity


def _hit(p: float) -> ScoredImpact:
    return ScoredImpact(
        index=250,
        impact_ms=5_000,
        decided_ms=7_000,
        probability=p,
        peak_g=3.0,
        orientation_change_deg=90.0,
        features=(0.0,) * 14,
    )


def _trials() -> tuple[list[Trial], list[list[ScoredImpact]]]:
    trials: list[Trial] = []
    for i, _ in enumerate(FALL_P):
        trials.append(
            Trial(
                trial_id=f"F{i}",
                subject=f"S{i}",
                activity="F01",
                is_fall=True,
                onset_s=4.9,
                end_s=5.2,
                duration_s=15.0,
                rate_hz=50.0,
                path=Path("unused"),
            )
        )
    for i, _ in enumerate(ACTIVITY_P):
        trials.append(
            Trial(
                trial_id=f"D{i}",
                subject=f"S{i}",
                activity="D13",
                is_fall=False,
                onset_s=None,
                end_s=None,
                duration_s=900.0,
                rate_hz=50.0,
                path=Path("unused"),
            )
        )
    return trials, [[_hit(p)] for p in (*FALL_P, *ACTIVITY_P)]


def test_the_false_alarm_budget_picks_the_lowest_threshold_within_it() -> None:
    trials, scored = _trials()
    # one false alarm per hour allowed: 0.99 alarms, 0.97 would be the second
    threshold, _ = choose_thresholds(trials, scored, Target(fa_per_h=1.0))
    assert 0.97 < threshold <= 0.99
    threshold, _ = choose_thresholds(trials, scored, Target(fa_per_h=0.0))
    assert threshold > 0.99


def test_a_sensitivity_target_picks_the_largest_threshold_reaching_it() -> None:
    trials, scored = _trials()
    threshold, _ = choose_thresholds(trials, scored, Target(sensitivity=0.5))
    assert threshold == pytest.approx(0.96)


def test_the_budget_may_not_push_sensitivity_below_the_floor() -> None:
    trials, scored = _trials()
    # no false alarm at all would leave 1 fall in 4; the floor keeps 2 in 4
    threshold, _ = choose_thresholds(trials, scored, Target(fa_per_h=0.0, floor=0.5))
    assert threshold == pytest.approx(0.96)


def test_a_model_fitted_on_kept_features_names_only_those() -> None:
    """``keep_features`` cuts every candidate to a leading part of the features; the model
    fitted on them names that part and scores a full-length vector on it alone."""
    import numpy as np

    from edge.detection.fall_features import FEATURE_NAMES
    from tools.falls.fit import fit_path, keep_features

    rng = np.random.default_rng(5)
    trials, _ = _trials()
    n = len(FEATURE_NAMES)
    cands: list[list[ScoredImpact]] = []
    for t in trials:
        feats = rng.normal(1.0 if t.is_fall else -1.0, 0.3, n)
        feats[2] = 1.0  # past the posture gate
        cands.append([dataclasses.replace(_hit(0.0), features=tuple(float(x) for x in feats))])
    kept = keep_features(cands, 15)
    assert all(len(h.features) == 15 for hits in kept for h in hits)
    model = fit_path(trials, kept, peak_range=(2.0, np.inf), gate=0.4, quantile=20.0, soft=False)
    assert model is not None
    assert model.feature_names == FEATURE_NAMES[:15]
    full = np.asarray(cands[0][0].features)
    changed = full.copy()
    changed[15:] += 50.0
    assert model.probability(full) == model.probability(changed)
    assert model.probability(full) > model.probability(np.asarray(cands[-1][0].features))
