"""Benchmarks exposed as ``anxin bench falls`` and ``anxin bench vitals``.

``anxin/cli.py`` calls :func:`register` with its ``bench`` sub-parsers; until then run
``python -m tools.falls.bench falls --data DIR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge.detection.fall_model import PLACEMENTS, FallModel, load_default_model
from tools.falls.dataset import Trial, placement_of, read_manifest
from tools.falls.protocols import GAP_S, PROTOCOLS, collect_candidates_protocol, stream_protocol
from tools.falls.report import group_report, text
from tools.falls.scoring import FallScores, TrialAlarms, score_trials, wilson_interval


def register(bench_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``falls`` and ``vitals`` sub-commands to ``anxin bench``."""
    falls = bench_sub.add_parser(
        "falls",
        help="fall-detector accuracy, latency and throughput on a trial dataset",
        description=(
            "Stream every trial of DIR (manifest.csv + trials/*.csv.gz, t_s,ax_g,ay_g,az_g) through the "
            "gateway's FallDetector in 1 s batches and score it per trial: sensitivity/specificity with "
            "95%% Wilson intervals, false alarms per hour of activity, onset->alarm latency, false "
            "positives per activity code, samples/s per core; the naive 'peak |a| >= 3 g' rule beside it. "
            "With --folds K, also report nested leave-subjects-out cross-validated figures (the model "
            "refitted K times, never on the evaluated subjects). --protocol per-trial (default, the strict "
            "headline) uses a fresh detector per trial; --protocol continuous one detector per subject fed "
            "its activity trials (code order) then its falls, with a 60 s clock jump and no samples between "
            "trials, as a device worn all day; both are scored per trial. Figures are printed overall, per "
            "age group (the manifest's group: adult = young, elderly = older) and for the worst subject. "
            "The model is the shipped one for the data's placement (--placement; by default read from the "
            "manifest's sensor column, else waist). A dataset without fall onset labels counts any alarm in "
            "a fall trial as a detection and reports no latency; --folds then labels each fall trial's "
            "largest peak as its impact (never its position in the window)."
        ),
    )
    falls.add_argument("--data", type=Path, required=True, help="dataset folder containing manifest.csv")
    falls.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    falls.add_argument("--folds", type=int, default=0, help="subject-wise CV folds (0 = shipped model only)")
    falls.add_argument("--model", type=Path, default=None, help="model JSON (default: the shipped one)")
    falls.add_argument(
        "--placement",
        choices=PLACEMENTS,
        default=None,
        help="which shipped model to use (default: from the manifest's sensor column, else waist)",
    )
    falls.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="per-trial",
        help="per-trial: fresh detector per trial (default, strict); continuous: one detector per subject",
    )
    falls.add_argument(
        "--upright",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="let the detector learn the wearer's upright from gait (default on; --no-upright to compare)",
    )
    falls.set_defaults(func=run_falls)
    vitals = bench_sub.add_parser(
        "vitals",
        help="vital-sign alarms per hour on a minute-by-minute HR/SpO2 recording",
        description=(
            "Replay a CSV (t_min,hr_bpm,spo2_pct; '#' comments; 0/-1 = no reading) through VitalsDetector "
            "with default limits and list every alarm with its time and reason, so that artifacts that "
            "alarm are visible."
        ),
    )
    from tools.vitals_bench import add_vitals_arguments, run_vitals

    add_vitals_arguments(vitals)
    vitals.set_defaults(func=run_vitals)


def _progress(i: int, n: int) -> None:
    if (i + 1) % 500 == 0 or i + 1 == n:
        print(f"falls bench: {i + 1}/{n} trials", file=sys.stderr, flush=True)


def stream_trials(
    trials: Sequence[Trial], model: FallModel
) -> tuple[list[TrialAlarms], list[TrialAlarms], float, int]:
    """Run detector and baseline over every trial in 1 s batches, a fresh detector per
    trial (the ``per-trial`` protocol).

    Returns detector alarms, baseline alarms, seconds spent inside the detector and the
    number of samples it consumed. Alarm times are the detector's decision times."""
    res = stream_protocol(trials, model, "per-trial", progress=_progress)
    return res.ours, res.base, res.spent_s, res.samples


def _fmt(scores: FallScores) -> str:
    d = scores.as_dict()
    se_lo, se_hi = wilson_interval(scores.detected, scores.falls)
    sp_lo, sp_hi = wilson_interval(scores.activities - scores.false_alarm_trials, scores.activities)
    return (
        f"sensitivity {scores.sensitivity:.3f} [{se_lo:.3f}, {se_hi:.3f}]  "
        f"specificity {scores.specificity:.3f} [{sp_lo:.3f}, {sp_hi:.3f}]  "
        f"false alarms/h {scores.false_alarms_per_hour:.2f}  "
        f"latency p50 {scores.latency_percentile(50):.2f} s p95 {scores.latency_percentile(95):.2f} s\n"
        f"    false positives by activity: {d['false_positives_by_activity']}\n"
        f"    missed falls by activity: {d['missed_by_activity']}"
    )


def run_falls(args: argparse.Namespace) -> int:
    """``anxin bench falls``: print figures, optionally write JSON; exit code 0."""
    protocol: str = getattr(args, "protocol", "per-trial")
    upright: bool = getattr(args, "upright", True)
    trials = read_manifest(args.data)
    placement: str = getattr(args, "placement", None) or placement_of(trials) or "waist"
    if args.model:
        model = FallModel.from_dict(json.loads(args.model.read_text()))
    else:
        model = load_default_model(placement)
    res = stream_protocol(trials, model, protocol, learn_upright=upright, progress=_progress)
    mine = score_trials(res.ours)
    naive = score_trials(res.base)
    rate = res.samples / res.spent_s if res.spent_s > 0 else math.inf
    report: dict[str, object] = group_report(res.ours)
    report["samples_per_second"] = rate
    report["samples"] = res.samples
    report["model_threshold"] = model.threshold
    report["placement"] = placement
    report["latency_measured"] = bool(mine.latencies_s)
    report["baseline_peak_3g"] = naive.as_dict()
    how = "a fresh detector per trial" if protocol == "per-trial" else "one detector per subject"
    if protocol != "per-trial" or not upright:
        report["protocol"] = protocol
        report["learn_upright"] = upright
    if protocol == "continuous":
        report["gap_between_trials_s"] = GAP_S
        report["order"] = "per subject: activity trials by code then repetition, then fall trials"
        report["sessions_with_confident_upright"] = sum(res.upright_known)
        report["sessions"] = len(res.upright_known)
        how += (
            f", activities then falls, {GAP_S:.0f} s gap between trials; confident upright at the end "
            f"for {sum(res.upright_known)}/{len(res.upright_known)} subjects"
        )
    print(f"dataset {args.data} ({len(trials)} trials, {res.samples} samples, 1 s batches)")
    print(f"protocol {protocol} ({how}); upright learning {'on' if upright else 'off'}")
    params = f"model {args.model}" if args.model else f"shipped {placement} model"
    print(f"FallDetector ({params}):\n{text(res.ours)}")
    print(f"  throughput {rate:,.0f} samples/s (one core, CPU time)")
    print(f"Baseline peak |a| >= 3 g:\n  {_fmt(naive)}")
    if args.folds and args.folds < 3:
        print("Nested CV needs --folds 3 or more (the inner loop splits the other folds again).")
    elif args.folds:
        report["cross_validated"] = _cross_validate(args, trials, protocol, upright, placement)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=_json_default) + "\n", encoding="utf-8")
    return 0


def _cross_validate(
    args: argparse.Namespace, trials: list[Trial], protocol: str, upright: bool, placement: str
) -> dict[str, object]:
    """Nested subject-grouped CV under ``protocol`` (recorded trials), the low-impact
    path also fitted on one synthetic soft version of each fall (scored per trial and
    reported apart)."""
    from tools.falls.augment import soft_falls
    from tools.falls.cv import Target, cross_validate, is_soft
    from tools.falls.dataset import load_trial
    from tools.falls.fit import FEATURES_BY_PLACEMENT, collect_candidates, keep_features, probe_model

    cands = collect_candidates_protocol(trials, probe_model(), protocol, learn_upright=upright)
    soft_t, soft_a = soft_falls(trials, [load_trial(t) for t in trials])
    all_trials = [*trials, *soft_t]
    try:
        results, choices = cross_validate(
            all_trials,
            keep_features(
                cands + collect_candidates(soft_t, soft_a), FEATURES_BY_PLACEMENT.get(placement, 14)
            ),
            args.folds,
            target=Target.for_placement(placement),
        )
    except ValueError as exc:
        print(f"Nested CV not run: {exc}")
        return {"error": str(exc)}
    real = [r for r in results if not is_soft(r.trial)]
    soft = [r for r in results if is_soft(r.trial)]
    print(
        f"Nested subject-grouped CV ({args.folds} folds stratified by age group, unseen subjects):\n"
        + text(real)
    )
    if soft:
        print(f"  synthetic soft falls (low-impact path), same CV:\n{text(soft, indent='    ')}")
    out = group_report(real)
    out["folds"] = args.folds
    out["choices_per_fold"] = [dataclasses.asdict(c) for c in choices]
    out["soft_falls"] = group_report(soft) if soft else None
    return out


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value).__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m tools.falls.bench falls|vitals ...``."""
    parser = argparse.ArgumentParser(prog="python -m tools.falls.bench", description=__doc__)
    sub = parser.add_subparsers(dest="bench", required=True)
    register(sub)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
