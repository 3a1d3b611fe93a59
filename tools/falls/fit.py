"""Fit the fall model on a dataset in the shared layout, with subject-wise folds.

    python -m tools.falls.fit --data ../shared/data/falls/sisfall-50hz

1. Every trial is streamed through :class:`FallScorer` to collect impact candidates and
   their features (the exact code the gateway runs).
2. Candidates are labelled: an impact within [onset - 1 s, end + 1 s] of a labelled fall
   is positive; impacts in activity trials, and impacts before a fall, are negative.
   Only candidates past the model's posture-change gate (``MIN_ORIENTATION_CHANGE``,
   in units of 90°) are fitted on; the others score 0. The hinge knots of the additive
   model are the ``HINGE_QUANTILE`` and ``100 - HINGE_QUANTILE`` percentiles of each
   feature over the training falls.
3. Nested leave-subjects-out cross-validation: for each outer fold the logistic model is
   fitted on the other subjects and its alarm threshold is chosen by an inner
   subject-wise CV on those subjects only (largest threshold whose inner sensitivity
   is ≥ ``--target-sensitivity``). The outer fold's trials are then scored. These are
   the figures for unseen subjects.
4. The shipped model is fitted on all subjects, its threshold chosen the same way.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from edge.detection.fall import FallScorer, ScoredImpact, select_alarms
from edge.detection.fall_features import FEATURE_NAMES, ORIENTATION_FEATURE
from edge.detection.fall_model import MODEL_FILE, FallModel, expand_hinges
from tools.falls.dataset import Trial, load_trial, read_manifest
from tools.falls.scoring import TrialAlarms, score_trials

TRIGGER_G = 2.0
MIN_ORIENTATION_CHANGE = 0.5
REFRACTORY_MS = 10_000
L2 = 1e-2
HINGE_QUANTILE = 20.0
# finer at the top: with hinge terms the chosen threshold can lie above 0.95
THRESHOLD_GRID: tuple[float, ...] = tuple(
    np.r_[np.round(np.arange(0.998, 0.95, -0.002), 3), np.round(np.arange(0.95, 0.049, -0.01), 2)].tolist()
)
Candidates = list[list[ScoredImpact]]


def probe_model(trigger_g: float) -> FallModel:
    """A model that scores nothing: used only to collect candidates and features."""
    n = len(FEATURE_NAMES)
    return FallModel(
        feature_names=FEATURE_NAMES,
        mean=(0.0,) * n,
        scale=(1.0,) * n,
        coef=(0.0,) * n,
        intercept=0.0,
        threshold=1.0,
        trigger_g=trigger_g,
    )


def collect_candidates(
    trials: Sequence[Trial], trigger_g: float, progress: Callable[[int], None] | None = None
) -> Candidates:
    """Impact candidates of every trial (one scorer per trial, trial time starts at 0)."""
    out: Candidates = []
    for i, trial in enumerate(trials):
        scorer = FallScorer(probe_model(trigger_g))
        out.append(scorer.update(load_trial(trial), 0, trial.rate_hz))
        if progress is not None:
            progress(i)
    return out


def label(trial: Trial, hit: ScoredImpact) -> float | None:
    """1 for the fall's impact, 0 for a non-fall impact, ``None`` if ambiguous."""
    if not trial.is_fall:
        return 0.0
    if trial.onset_s is None:
        return None
    t = hit.impact_ms / 1000.0
    end = trial.end_s if trial.end_s is not None else trial.onset_s
    if trial.onset_s - 1.0 <= t <= end + 1.0:
        return 1.0
    return 0.0 if t < trial.onset_s - 1.0 else None


def fit_model(
    trials: Sequence[Trial],
    cands: Candidates,
    trigger_g: float,
    min_orientation_change: float = MIN_ORIENTATION_CHANGE,
) -> FallModel:
    """Standardised L2 logistic regression (Newton iterations) over the features and
    their hinge terms, on the labelled candidates that pass the posture-change gate."""
    rows: list[tuple[float, ...]] = []
    ys: list[float] = []
    for trial, hits in zip(trials, cands, strict=True):
        for hit in hits:
            y = label(trial, hit)
            if not hit.features[ORIENTATION_FEATURE] >= min_orientation_change:
                continue
            if y is not None:
                rows.append(hit.features)
                ys.append(y)
    features = np.asarray(rows, dtype=np.float64)
    y_arr = np.asarray(ys, dtype=np.float64)
    falls = features[y_arr == 1.0]
    low = tuple(np.percentile(falls, HINGE_QUANTILE, axis=0).tolist())
    high = tuple(np.percentile(falls, 100.0 - HINGE_QUANTILE, axis=0).tolist())
    x = expand_hinges(features, low, high)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-9
    z = np.column_stack([np.ones(len(x)), (x - mean) / scale])
    beta = np.zeros(z.shape[1])
    penalty = L2 * len(y_arr) * np.diag(np.r_[0.0, np.ones(z.shape[1] - 1)])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(z @ beta)))
        grad = z.T @ (p - y_arr) + penalty @ beta
        hess = (z * (p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hess, grad)
        beta -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return FallModel(
        feature_names=FEATURE_NAMES,
        mean=tuple(mean.tolist()),
        scale=tuple(scale.tolist()),
        coef=tuple(beta[1:].tolist()),
        intercept=float(beta[0]),
        threshold=0.5,
        trigger_g=trigger_g,
        min_orientation_change=min_orientation_change,
        hinge_low=low,
        hinge_high=high,
    )


def rescore(model: FallModel, hits: list[ScoredImpact]) -> list[ScoredImpact]:
    """The same impacts scored by another model."""
    return [dataclasses.replace(h, probability=model.probability(np.asarray(h.features))) for h in hits]


def alarms_at(trial: Trial, hits: list[ScoredImpact], threshold: float) -> TrialAlarms:
    """Apply the detector's decision rule to scored impacts of one trial."""
    alarms, _ = select_alarms(hits, threshold, REFRACTORY_MS)
    return TrialAlarms(trial=trial, alarms_s=tuple(a.decided_ms / 1000.0 for a in alarms))


def subject_folds(trials: Sequence[Trial], k: int) -> NDArray[np.int64]:
    """Fold number per trial: subjects dealt round-robin, each group (prefix) separately
    so that every fold gets adults and elderly subjects."""
    subjects = sorted({t.subject for t in trials})
    groups: dict[str, list[str]] = {}
    for s in subjects:
        groups.setdefault(s.rstrip("0123456789"), []).append(s)
    fold_of = {s: i % k for members in groups.values() for i, s in enumerate(members)}
    return np.array([fold_of[t.subject] for t in trials], dtype=np.int64)


def out_of_fold(trials: Sequence[Trial], cands: Candidates, k: int, trigger_g: float) -> Candidates:
    """Candidates of every trial scored by a model that never saw its subject."""
    folds = subject_folds(trials, k)
    scored: Candidates = [[] for _ in trials]
    for f in range(k):
        train = [i for i in range(len(trials)) if folds[i] != f]
        model = fit_model([trials[i] for i in train], [cands[i] for i in train], trigger_g)
        for i in np.flatnonzero(folds == f).tolist():
            scored[i] = rescore(model, cands[i])
    return scored


def choose_threshold(trials: Sequence[Trial], scored: Candidates, target_sensitivity: float) -> float:
    """Largest threshold whose per-trial sensitivity still reaches the target."""
    best, best_j = 0.5, -1.0
    for thr in THRESHOLD_GRID:
        s = score_trials([alarms_at(t, h, thr) for t, h in zip(trials, scored, strict=True)])
        if s.sensitivity >= target_sensitivity:
            return float(thr)
        if s.sensitivity + s.specificity > best_j:
            best, best_j = float(thr), s.sensitivity + s.specificity
    return best


def cross_validate(
    trials: Sequence[Trial], cands: Candidates, k: int, trigger_g: float, target_sensitivity: float
) -> tuple[list[TrialAlarms], list[float]]:
    """Nested leave-subjects-out CV: per-trial alarms on unseen subjects, and the
    threshold chosen in each outer fold."""
    folds = subject_folds(trials, k)
    results: list[TrialAlarms | None] = [None] * len(trials)
    thresholds: list[float] = []
    for f in range(k):
        train = [i for i in range(len(trials)) if folds[i] != f]
        tr_trials = [trials[i] for i in train]
        tr_cands = [cands[i] for i in train]
        inner = out_of_fold(tr_trials, tr_cands, k - 1, trigger_g)
        thr = choose_threshold(tr_trials, inner, target_sensitivity)
        model = fit_model(tr_trials, tr_cands, trigger_g)
        thresholds.append(thr)
        for i in np.flatnonzero(folds == f).tolist():
            results[i] = alarms_at(trials[i], rescore(model, cands[i]), thr)
    return [r for r in results if r is not None], thresholds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.falls.fit",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, required=True, help="dataset folder with manifest.csv")
    parser.add_argument("--folds", type=int, default=5, help="number of subject-wise folds (default 5)")
    parser.add_argument("--trigger-g", type=float, default=TRIGGER_G, help="impact trigger in g")
    parser.add_argument("--target-sensitivity", type=float, default=0.98)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).with_name(MODEL_FILE),
        help="where to write the fitted model JSON",
    )
    args = parser.parse_args(argv)
    trials = read_manifest(args.data)
    cands = collect_candidates(
        trials, args.trigger_g, lambda i: print(f"\rfeatures {i + 1}/{len(trials)}", end="", file=sys.stderr)
    )
    print(file=sys.stderr)
    results, thresholds = cross_validate(trials, cands, args.folds, args.trigger_g, args.target_sensitivity)
    cv = score_trials(results).as_dict()
    cv["thresholds_per_fold"] = thresholds
    scored_all = out_of_fold(trials, cands, args.folds, args.trigger_g)
    model = dataclasses.replace(
        fit_model(trials, cands, args.trigger_g),
        threshold=choose_threshold(trials, scored_all, args.target_sensitivity),
        provenance=(
            f"fit_falls on {args.data.name}: {len(trials)} trials, "
            f"{len({t.subject for t in trials})} subjects, {args.folds} subject-wise folds"
        ),
    )
    args.out.write_text(model.to_json(), encoding="utf-8")
    print(json.dumps({"cross_validated": cv, "model": json.loads(model.to_json())}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
