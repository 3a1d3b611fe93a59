"""Per-trial scoring of fall alarms (sensitivity, specificity, false alarms per hour,
latency) with Wilson confidence intervals.

Rule: a fall trial counts as detected when an alarm fires within
[``fall_onset_s`` - 1 s, ``fall_end_s`` + 10 s]; when the onset is not labelled, any
alarm in the trial counts and no latency is measured. Any alarm in an activity trial is
a false alarm.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from tools.falls.dataset import Trial

WINDOW_BEFORE_S = 1.0
WINDOW_AFTER_S = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialAlarms:
    """Alarm times (seconds from the trial start) raised on one trial."""

    trial: Trial
    alarms_s: tuple[float, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FallScores:
    """Aggregated figures over a set of trials."""

    falls: int
    detected: int
    activities: int
    false_alarm_trials: int
    activity_hours: float
    false_alarms: int
    latencies_s: tuple[float, ...]
    false_positives_by_activity: dict[str, int] = field(default_factory=dict)
    missed_by_activity: dict[str, int] = field(default_factory=dict)

    @property
    def sensitivity(self) -> float:
        return self.detected / self.falls if self.falls else float("nan")

    @property
    def specificity(self) -> float:
        n = self.activities
        return (n - self.false_alarm_trials) / n if n else float("nan")

    @property
    def false_alarms_per_hour(self) -> float:
        return self.false_alarms / self.activity_hours if self.activity_hours else float("nan")

    def latency_percentile(self, q: float) -> float:
        """Onset → alarm latency percentile in seconds (NaN without labelled onsets)."""
        return float(np.percentile(self.latencies_s, q)) if self.latencies_s else float("nan")

    def as_dict(self) -> dict[str, object]:
        """JSON-ready summary."""
        return {
            "sensitivity": self.sensitivity,
            "sensitivity_ci95": wilson_interval(self.detected, self.falls),
            "specificity": self.specificity,
            "specificity_ci95": wilson_interval(self.activities - self.false_alarm_trials, self.activities),
            "false_alarms_per_hour": self.false_alarms_per_hour,
            "latency_p50_s": self.latency_percentile(50),
            "latency_p95_s": self.latency_percentile(95),
            "fall_trials": self.falls,
            "falls_detected": self.detected,
            "activity_trials": self.activities,
            "activity_trials_with_false_alarm": self.false_alarm_trials,
            "false_alarms": self.false_alarms,
            "activity_hours": self.activity_hours,
            "false_positives_by_activity": dict(sorted(self.false_positives_by_activity.items())),
            "missed_by_activity": dict(sorted(self.missed_by_activity.items())),
        }


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval for a proportion."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def detection_latency(trial: Trial, alarms_s: tuple[float, ...]) -> float | None:
    """Latency of the first alarm inside the scoring window, ``None`` if missed.

    Returns NaN for a detected fall whose onset is not labelled."""
    if trial.onset_s is None:
        return float("nan") if alarms_s else None
    end = trial.end_s if trial.end_s is not None else trial.onset_s
    inside = [t for t in alarms_s if trial.onset_s - WINDOW_BEFORE_S <= t <= end + WINDOW_AFTER_S]
    return min(inside) - trial.onset_s if inside else None


def score_trials(results: list[TrialAlarms]) -> FallScores:
    """Score alarms per trial with the rule in the module docstring."""
    falls = detected = activities = fa_trials = fa = 0
    seconds = 0.0
    latencies: list[float] = []
    fp_by: Counter[str] = Counter()
    missed_by: Counter[str] = Counter()
    for res in results:
        trial = res.trial
        if trial.is_fall:
            falls += 1
            latency = detection_latency(trial, res.alarms_s)
            if latency is None:
                missed_by[trial.activity] += 1
                continue
            detected += 1
            if not math.isnan(latency):
                latencies.append(latency)
        else:
            activities += 1
            seconds += trial.duration_s
            if res.alarms_s:
                fa_trials += 1
                fa += len(res.alarms_s)
                fp_by[trial.activity] += 1
    return FallScores(
        falls=falls,
        detected=detected,
        activities=activities,
        false_alarm_trials=fa_trials,
        activity_hours=seconds / 3600.0,
        false_alarms=fa,
        latencies_s=tuple(latencies),
        false_positives_by_activity=dict(fp_by),
        missed_by_activity=dict(missed_by),
    )
