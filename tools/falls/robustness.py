"""Sensor robustness of the fall model under nested subject-grouped CV (offline only).

    python -m tools.falls.robustness --data ../shared/data/falls/sisfall-50hz [--folds 5]

The outer-fold models are fitted once on the recorded trials (and their synthetic soft
falls), exactly as ``tools.falls.fit`` does; then every held-out trial is perturbed
(:data:`tools.falls.augment.PERTURBATIONS`: random orientation, 25 / 100 Hz, ±10 % gain,
±8 g clipping, 1 % dropped samples, time jitter) and scored by the model that never saw
its subject. One row per perturbation, the clean row first.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge.detection.fall_model import PLACEMENTS
from tools.falls.augment import PERTURBATIONS
from tools.falls.cv import Target, fold_models, is_soft, score_folds
from tools.falls.fit import FEATURES_BY_PLACEMENT, collect_candidates, keep_features, load_datasets
from tools.falls.report import group_report, text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.falls.robustness",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data", type=Path, action="append", required=True, help="dataset folder (repeatable)"
    )
    parser.add_argument("--folds", type=int, default=5, help="subject-wise folds (default 5)")
    parser.add_argument(
        "--placement", choices=PLACEMENTS, default="waist", help="whose operating point the inner loop uses"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed of the perturbations")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    trials, arrays = load_datasets(args.data)
    cands = collect_candidates(trials, arrays)
    fit_cands = keep_features(cands, FEATURES_BY_PLACEMENT[args.placement])
    folds, models = fold_models(trials, fit_cands, args.folds, Target.for_placement(args.placement))
    real = [i for i, t in enumerate(trials) if not is_soft(t)]
    report: dict[str, object] = {}
    rows = [("clean", None), *PERTURBATIONS.items()]
    for name, perturb in rows:
        if perturb is None:
            test = cands
        else:
            rng = np.random.default_rng(args.seed)
            test = list(cands)
            for i in real:
                acc, rate = perturb(arrays[i], trials[i].rate_hz, rng)
                test[i] = collect_candidates([trials[i]], [acc], rate_hz=rate)[0]
        results = score_folds(trials, folds, models, test)
        recorded = [results[i] for i in real]
        report[name] = group_report(recorded)
        print(f"{name}:\n{text(recorded)}", flush=True)
        print(f"  ({len(recorded)} trials)", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=float) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
