"""Quick feature screening for the impact path (offline only; cheaper than the nested CV).

    python -m tools.falls.screen --data DIR [--data DIR] --cache /tmp/x.pkl \\
        --set base=0-13 --set +count=0-13,14 ...

Outer fold 0 of :func:`tools.falls.cv.subject_folds` (5 folds, age-stratified) is kept
out, so the nested CV's first outer fold never informs a screening choice; the other
subjects get a subject-grouped 4-fold CV of the impact path (peaks ≥ 2 g past the 36°
gate, hinge knots at the 20 % quantile, the fit's L2). Each feature set is reported as
the per-trial sensitivity at a few false-alarm rates (alarms per hour of activity; the
threshold chosen on the pooled out-of-fold scores, refractory ignored), and their mean.
The candidates are collected once by the gateway's own :class:`FallScorer` and cached.
"""

from __future__ import annotations

import argparse
import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from edge.detection.fall_features import FEATURE_NAMES, ORIENTATION_FEATURE
from tools.falls.cv import subject_folds
from tools.falls.fit import (
    MIN_ORIENTATION_CHANGE,
    TRIGGER_G,
    collect_candidates,
    fit_hinge_logistic,
    label,
    load_datasets,
)

Rows = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]


def build_rows(
    data: Sequence[Path], cache: Path | None
) -> tuple[Rows, NDArray[np.int64], NDArray[np.bool_], float]:
    """Impact-path candidates: features, labels, trial index, fold; plus per-trial fold,
    is-fall flags and activity hours."""
    if cache is not None and cache.exists():
        return pickle.loads(cache.read_bytes())  # type: ignore[no-any-return]
    trials, arrays = load_datasets(list(data), soft=False)
    cands = collect_candidates(trials, arrays)
    folds = subject_folds(trials, 5)
    feats: list[tuple[float, ...]] = []
    ys: list[float] = []
    idx: list[int] = []
    for i, (trial, hits) in enumerate(zip(trials, cands, strict=True)):
        for hit in hits:
            if hit.peak_g < TRIGGER_G or not hit.features[ORIENTATION_FEATURE] >= MIN_ORIENTATION_CHANGE:
                continue
            y = label(trial, hit, hits)
            if y is None:
                continue
            feats.append(hit.features)
            ys.append(y)
            idx.append(i)
    ti = np.asarray(idx, dtype=np.int64)
    hours = sum(t.duration_s for t in trials if not t.is_fall) / 3600.0
    out = (
        (np.asarray(feats), np.asarray(ys), ti, folds[ti]),
        folds,
        np.array([t.is_fall for t in trials]),
        hours,
    )
    if cache is not None:
        cache.write_bytes(pickle.dumps(out))
    return out


def fit_predict(
    x: NDArray[np.float64], y: NDArray[np.float64], x_test: NDArray[np.float64], quantile: float = 20.0
) -> NDArray[np.float64]:
    """The fit's hinge logistic regression on (x, y); probabilities for x_test."""
    return fit_hinge_logistic(x, y, quantile).predict(x_test)


def screen(
    rows: Rows,
    trial_folds: NDArray[np.int64],
    is_fall: NDArray[np.bool_],
    hours: float,
    *,
    columns: Sequence[int],
    rates: Sequence[float],
) -> list[float]:
    """Sensitivity at each false-alarm rate (per hour of activity) of the 4-fold CV on
    the subjects outside outer fold 0, then their mean."""
    x_all, y_all, ti_all, f_all = rows
    keep = f_all != 0
    x, y, ti, f = x_all[keep][:, list(columns)], y_all[keep], ti_all[keep], f_all[keep]
    p = np.zeros(len(y))
    for fold in range(1, 5):
        test = f == fold
        p[test] = fit_predict(x[~test], y[~test], x[test])
    n_trials = len(trial_folds)
    fall_trials = np.flatnonzero(is_fall & (trial_folds != 0))
    share = float(np.count_nonzero(~is_fall & (trial_folds != 0))) / max(1, int(np.count_nonzero(~is_fall)))
    act_hours = hours * share
    best = np.zeros(n_trials)
    np.maximum.at(best, ti[y == 1.0], p[y == 1.0])
    neg = np.sort(p[(y == 0.0) & ~is_fall[ti]])[::-1]
    out: list[float] = []
    for rate in rates:
        allowed = int(rate * act_hours)
        thr = float(neg[allowed]) + 1e-12 if allowed < len(neg) else 0.0
        out.append(float(np.mean(best[fall_trials] >= thr)))
    out.append(float(np.mean(out)))
    return out


def parse_set(text: str) -> tuple[str, list[int]]:
    """``name=0-13,15`` → the name and column indices."""
    name, spec = text.split("=", 1)
    cols: list[int] = []
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-")
            cols.extend(range(int(a), int(b) + 1))
        else:
            cols.append(int(part))
    return name, cols


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.falls.screen", description=__doc__)
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--set", action="append", default=[], help="name=columns, e.g. base=0-13")
    parser.add_argument("--rates", default="0.12,0.25,0.5,1.0", help="false alarms per hour")
    args = parser.parse_args(argv)
    rows, folds, is_fall, hours = build_rows(args.data, args.cache)
    rates = [float(r) for r in args.rates.split(",")]
    print(f"{len(rows[1])} candidates, {int(rows[1].sum())} falls; features {list(enumerate(FEATURE_NAMES))}")
    print("set".ljust(24) + "".join(f"@{r}/h".rjust(9) for r in rates) + "mean".rjust(9))
    for text in args.set or [f"all=0-{len(FEATURE_NAMES) - 1}"]:
        name, cols = parse_set(text)
        res = screen(rows, folds, is_fall, hours, columns=cols, rates=rates)
        print(name.ljust(24) + "".join(f"{v:9.3f}" for v in res), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
