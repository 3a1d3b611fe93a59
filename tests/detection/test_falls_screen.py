"""tools.falls.screen on hand-made candidate rows: a feature that separates falls from
activities is found at every false-alarm rate; noise alone is not."""

from __future__ import annotations

import numpy as np

from tools.falls.screen import parse_set, screen


def _rows(rng: np.random.Generator, n_subjects: int = 10, per: int = 20) -> tuple:
    """Per subject ``per`` fall trials and ``per`` activity trials of 60 s, one candidate
    each; column 0 separates falls (+2) from activities (-2), column 1 is noise."""
    feats, ys, ti, folds_c, trial_folds, is_fall = [], [], [], [], [], []
    t = 0
    for s in range(n_subjects):
        fold = s % 5
        for fall in (True, False):
            for _ in range(per):
                feats.append([(2.0 if fall else -2.0) + rng.normal(0, 0.5), rng.normal(0, 1.0)])
                ys.append(1.0 if fall else 0.0)
                ti.append(t)
                folds_c.append(fold)
                trial_folds.append(fold)
                is_fall.append(fall)
                t += 1
    rows = (np.asarray(feats), np.asarray(ys), np.asarray(ti), np.asarray(folds_c))
    hours = n_subjects * per * 60.0 / 3600.0
    return rows, np.asarray(trial_folds), np.asarray(is_fall), hours


def test_a_separating_feature_is_found_and_noise_is_not() -> None:
    rows, folds, is_fall, hours = _rows(np.random.default_rng(2))
    good = screen(rows, folds, is_fall, hours, columns=[0], rates=[0.5, 1.0])
    noise = screen(rows, folds, is_fall, hours, columns=[1], rates=[0.5, 1.0])
    assert good[-1] > 0.95
    assert noise[-1] < 0.5
    assert len(good) == 3  # one per rate, then their mean


def test_sets_parse_ranges_and_single_columns() -> None:
    assert parse_set("x=0-2,5") == ("x", [0, 1, 2, 5])
