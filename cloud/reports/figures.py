"""Report figures, pure: answer times against the telecare targets, times to guardian and responder,
counts by street/kind/outcome, false-alarm rate per device model. No I/O; rows in, figures out.

Every clock runs from the button press on the device (``device_ts``), as the SLA does. Drills never
reach this module (the query leaves them out).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ANSWER_TARGETS_S = (60, 180)  # 97.5 % within 60 s, 99 % within 180 s
ANSWER_BINS_S = (30, 60, 120, 180, 300)
FALSE_OUTCOMES = frozenset({"false_alarm", "cancelled_on_device"})


@dataclass(frozen=True, slots=True)
class IncidentRow:
    id: int
    street: str
    kind: str
    severity: str
    status: str
    outcome: str | None
    device_kind: str
    device_ts: int
    cloud_ts: int
    acknowledged_at: int | None
    guardian_answered_at: int | None
    dispatched_at: int | None
    resolved_at: int | None

    def seconds_to(self, at: int | None) -> float | None:
        return None if at is None else max(0.0, (at - self.device_ts) / 1000)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Durations:
    count: int
    p50_s: float | None
    p90_s: float | None
    p95_s: float | None
    max_s: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Durations:
        return cls(
            count=len(values),
            p50_s=percentile(values, 50),
            p90_s=percentile(values, 90),
            p95_s=percentile(values, 95),
            max_s=max(values) if values else None,
        )


@dataclass(frozen=True, slots=True)
class AnswerTimes:
    durations: Durations
    unanswered: int
    within: dict[int, float | None]  # target seconds -> share of answered-or-not alarms within it
    bins: dict[str, int]  # "0-30", "30-60", …, "300+"


def answer_times(rows: Sequence[IncidentRow]) -> AnswerTimes:
    answered = [s for r in rows if (s := r.seconds_to(r.acknowledged_at)) is not None]
    total = len(rows)
    within = {t: (sum(1 for s in answered if s <= t) / total if total else None) for t in ANSWER_TARGETS_S}
    edges = (0, *ANSWER_BINS_S)
    bins = {f"{lo}-{hi}": sum(1 for s in answered if lo <= s < hi) for lo, hi in itertools.pairwise(edges)}
    bins[f"{edges[-1]}+"] = sum(1 for s in answered if s >= edges[-1])
    return AnswerTimes(Durations.of(answered), total - len(answered), within, bins)


def counts(rows: Iterable[IncidentRow], key: str) -> dict[str, int]:
    return dict(Counter(str(getattr(r, key) or "open") for r in rows).most_common())


@dataclass(frozen=True, slots=True)
class ModelRate:
    incidents: int
    false_alarms: int
    rate: float


def false_alarm_rates(rows: Iterable[IncidentRow]) -> dict[str, ModelRate]:
    """Per device model: share of closed incidents that were false alarms or cancelled on the device."""
    closed: Counter[str] = Counter()
    false: Counter[str] = Counter()
    for row in rows:
        if row.outcome is None:
            continue
        closed[row.device_kind] += 1
        false[row.device_kind] += row.outcome in FALSE_OUTCOMES
    return {m: ModelRate(n, false[m], false[m] / n) for m, n in sorted(closed.items())}


@dataclass(frozen=True, slots=True)
class Report:
    incidents: int
    answer: AnswerTimes
    to_guardian: Durations
    to_responder: Durations
    by_street: dict[str, int]
    by_kind: dict[str, int]
    by_outcome: dict[str, int]
    false_alarms_by_model: dict[str, ModelRate]


def report(rows: Sequence[IncidentRow]) -> Report:
    return Report(
        incidents=len(rows),
        answer=answer_times(rows),
        to_guardian=Durations.of(
            [s for r in rows if (s := r.seconds_to(r.guardian_answered_at)) is not None]
        ),
        to_responder=Durations.of([s for r in rows if (s := r.seconds_to(r.dispatched_at)) is not None]),
        by_street=counts(rows, "street"),
        by_kind=counts(rows, "kind"),
        by_outcome=counts(rows, "outcome"),
        false_alarms_by_model=false_alarm_rates(rows),
    )


CSV_COLUMNS = (
    "id",
    "street",
    "kind",
    "severity",
    "status",
    "outcome",
    "device_kind",
    "device_ts",
    "cloud_ts",
    "answer_s",
    "guardian_s",
    "responder_s",
    "resolved_s",
)


def csv_row(row: IncidentRow) -> list[str]:
    def seconds(at: int | None) -> str:
        value = row.seconds_to(at)
        return "" if value is None else f"{value:.1f}"

    return [
        str(row.id),
        row.street,
        row.kind,
        row.severity,
        row.status,
        row.outcome or "",
        row.device_kind,
        str(row.device_ts),
        str(row.cloud_ts),
        seconds(row.acknowledged_at),
        seconds(row.guardian_answered_at),
        seconds(row.dispatched_at),
        seconds(row.resolved_at),
    ]
