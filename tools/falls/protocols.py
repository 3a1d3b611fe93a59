"""How the falls bench feeds trials to detectors: two protocols.

* ``per-trial`` (the headline, strict): a fresh detector per trial, so nothing is
  known about the wearer; the upright learner never becomes confident within one
  trial and the detector behaves as one switched on a moment before the event.
* ``continuous``: one detector per subject, fed that subject's trials one after
  another as a device worn all day would be: activity trials first in code order
  (D01, D02, ... then repetitions R01, R02, ...), then fall trials (F01 ... F15).
  Between two trials the clock jumps :data:`GAP_S` seconds with no samples (nothing
  is invented); the detector sees a data gap and starts a new stream segment, which
  keeps what it learned about the wearer (a gap of 10 min or more would forget it).
  Alarms are attributed to the trial whose samples produced them and scored per
  trial exactly as in ``per-trial``. It is optimistic in one way: every subject
  walks (D01–D04, 100 s each) before the bed activities and the falls.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

from edge.detection.fall import FallDetector, FallScorer, PeakThresholdDetector, ScoredImpact
from edge.detection.fall_model import FallModel
from tools.falls.dataset import Trial, load_trial
from tools.falls.scoring import TrialAlarms

PROTOCOLS = ("per-trial", "continuous")
BATCH_S = 1.0
T0_MS = 1_700_000_000_000
GAP_S = 60.0
Progress = Callable[[int, int], None]


def continuous_order(trials: Sequence[Trial]) -> list[list[int]]:
    """Trial indices per subject (subjects sorted), activities before falls, each in
    (activity code, trial id) order."""
    by_subject: dict[str, list[int]] = {}
    for i, t in enumerate(trials):
        by_subject.setdefault(t.subject, []).append(i)
    return [
        sorted(idx, key=lambda i: (trials[i].is_fall, trials[i].activity, trials[i].trial_id))
        for _, idx in sorted(by_subject.items())
    ]


def _sessions(trials: Sequence[Trial], protocol: str) -> list[list[int]]:
    if protocol == "per-trial":
        return [[i] for i in range(len(trials))]
    if protocol == "continuous":
        return continuous_order(trials)
    raise ValueError(f"unknown protocol {protocol!r}")


@dataclasses.dataclass(slots=True)
class StreamResult:
    """Per-trial alarms (in trial order) of the detector and the baseline, time spent
    inside the detector, samples streamed and, for each session, whether the upright
    was confident at its end."""

    ours: list[TrialAlarms]
    base: list[TrialAlarms]
    spent_s: float
    samples: int
    upright_known: list[bool]


def stream_protocol(
    trials: Sequence[Trial],
    model: FallModel,
    protocol: str,
    *,
    learn_upright: bool = True,
    progress: Progress | None = None,
) -> StreamResult:
    """Stream every trial through :class:`FallDetector` and the naive baseline in 1 s
    batches under ``protocol``."""
    ours: list[TrialAlarms | None] = [None] * len(trials)
    base: list[TrialAlarms | None] = [None] * len(trials)
    spent = 0.0
    samples = 0
    known: list[bool] = []
    done = 0
    for session in _sessions(trials, protocol):
        det = FallDetector(trials[session[0]].subject, model, learn_upright=learn_upright)
        naive = PeakThresholdDetector(trials[session[0]].subject)
        start_ms = T0_MS
        for i in session:
            trial = trials[i]
            acc = load_trial(trial)
            step = max(1, round(BATCH_S * trial.rate_hz))
            ours_s: list[float] = []
            base_s: list[float] = []
            for start in range(0, len(acc), step):
                batch = acc[start : start + step]
                t0 = start_ms + round(start * 1000 / trial.rate_hz)
                tic = time.perf_counter()
                events = det.update(batch, t0, trial.rate_hz)
                spent += time.perf_counter() - tic
                ours_s.extend((e.t_ms - start_ms) / 1000.0 for e in events)
                base_s.extend((e.t_ms - start_ms) / 1000.0 for e in naive.update(batch, t0, trial.rate_hz))
            samples += len(acc)
            ours[i] = TrialAlarms(trial=trial, alarms_s=tuple(ours_s))
            base[i] = TrialAlarms(trial=trial, alarms_s=tuple(base_s))
            start_ms += round(len(acc) * 1000 / trial.rate_hz + GAP_S * 1000)
            if progress is not None:
                progress(done, len(trials))
            done += 1
        est = det.scorer.upright
        known.append(est is not None and est.confident)
    return StreamResult(
        ours=[r for r in ours if r is not None],
        base=[r for r in base if r is not None],
        spent_s=spent,
        samples=samples,
        upright_known=known,
    )


def collect_candidates_protocol(
    trials: Sequence[Trial], model: FallModel, protocol: str, *, learn_upright: bool = True
) -> list[list[ScoredImpact]]:
    """Every scored impact per trial under ``protocol``, times relative to the trial's
    first sample (the fitting script's candidates, for cross-validation)."""
    out: list[list[ScoredImpact]] = [[] for _ in trials]
    for session in _sessions(trials, protocol):
        scorer = FallScorer(model, learn_upright=learn_upright)
        start_ms = 0
        for i in session:
            trial = trials[i]
            acc = load_trial(trial)
            hits = scorer.update(acc, start_ms, trial.rate_hz)
            out[i] = [
                dataclasses.replace(h, impact_ms=h.impact_ms - start_ms, decided_ms=h.decided_ms - start_ms)
                for h in hits
            ]
            start_ms += round(len(acc) * 1000 / trial.rate_hz + GAP_S * 1000)
    return out
