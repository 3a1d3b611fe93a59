"""Vital-sign detection (heart rate, SpO2) for one person.

Readings pass an artifact filter (sensor-off codes, impossible values, motion-flagged
readings, unconfirmed jumps), then three sustained-limit rules (``hr_high``, ``hr_low``,
``spo2_low``) and a personal-baseline drift rule (``vitals_drift``: recent median far
from the rolling median in robust-sigma units). Each event carries the recent HR/SpO2
trend as evidence. Nothing here logs readings.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contracts import Vitals
from edge.detection.events import DetectionEvent, EventKind, Evidence, VitalPoint
from edge.detection.robust_baseline import RobustBaseline
from edge.detection.stream import DetectorSpec, Observed, Setup
from edge.detection.sustained import SustainedCondition
from edge.detection.time_order import TimeOrder
from edge.detection.vital_artifacts import JumpFilter

if TYPE_CHECKING:
    from edge.detection.config import DetectorConfig

MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True, kw_only=True)
class VitalLimits:
    """Per-person limits from the care plan (defaults are common clinical alarm limits).

    A limit alarm needs every valid reading for ``sustain_s`` (and at least
    ``min_readings`` of them) beyond the limit: with one reading a minute the default
    means three consecutive abnormal minutes.
    """

    hr_low_bpm: float = 40.0
    hr_high_bpm: float = 130.0
    spo2_low_pct: float = 90.0
    sustain_s: float = 120.0
    min_readings: int = 3
    max_gap_s: float = 150.0
    hr_plausible: tuple[float, float] = (25.0, 250.0)
    spo2_plausible: tuple[float, float] = (50.0, 100.0)
    hr_max_jump_bpm: float = 40.0
    spo2_max_jump_pct: float = 15.0
    jump_window_s: float = 150.0
    baseline_window_s: float = 24 * 3600.0
    recent_window_s: float = 30 * 60.0
    baseline_min_readings: int = 120
    drift_sigmas: float = 4.0
    hr_drift_min_bpm: float = 20.0
    spo2_drift_min_pct: float = 4.0
    trend_points: int = 15


class VitalsDetector:
    """Limit, duration and drift rules over HR/SpO2 readings of one person.

    ``update(t_ms, hr_bpm, spo2_pct, motion=False)`` takes one reading (``None``, 0 or
    -1 = no reading) and returns the events it completes.
    """

    def __init__(self, source_id: str, limits: VitalLimits | None = None) -> None:
        self.source_id = source_id
        lim = limits if limits is not None else VitalLimits()
        self.limits = lim
        self._order = TimeOrder()
        jump_ms = round(lim.jump_window_s * 1000)
        self._hr = JumpFilter(
            lo=lim.hr_plausible[0], hi=lim.hr_plausible[1], max_jump=lim.hr_max_jump_bpm, window_ms=jump_ms
        )
        self._spo2 = JumpFilter(
            lo=lim.spo2_plausible[0],
            hi=lim.spo2_plausible[1],
            max_jump=lim.spo2_max_jump_pct,
            window_ms=jump_ms,
        )
        sustain = (round(lim.sustain_s * 1000), lim.min_readings, round(lim.max_gap_s * 1000))
        self._rules = {
            EventKind.HR_HIGH: SustainedCondition(*sustain),
            EventKind.HR_LOW: SustainedCondition(*sustain),
            EventKind.SPO2_LOW: SustainedCondition(*sustain),
        }
        base = {
            "window_ms": round(lim.baseline_window_s * 1000),
            "recent_ms": round(lim.recent_window_s * 1000),
            "step_ms": MINUTE_MS - 1000,
            "min_readings": lim.baseline_min_readings,
            "min_recent": 10,
        }
        self._hr_base = RobustBaseline(**base, sigma_floor=2.0)
        self._spo2_base = RobustBaseline(**base, sigma_floor=0.7)
        self._drifting: set[str] = set()
        self._trend: deque[VitalPoint] = deque(maxlen=lim.trend_points)

    def update(
        self, t_ms: int, hr_bpm: float | None, spo2_pct: float | None, *, motion: bool = False
    ) -> list[DetectionEvent]:
        """Consume one reading; raise :class:`OutOfOrderError` if it is older than the last."""
        self._order.advance(t_ms)
        if motion:
            hr_ok: list[tuple[int, float]] = []
            spo2_ok: list[tuple[int, float]] = []
        else:
            hr_ok = self._hr.push(t_ms, hr_bpm)
            spo2_ok = self._spo2.push(t_ms, spo2_pct)
        lim = self.limits
        found: list[tuple[EventKind, str, int, float, float]] = []
        for t, v in hr_ok:
            self._trend_point(t, hr=v)
            self._hr_base.add(t, v)
            found += self._limit(
                EventKind.HR_HIGH,
                "hr_above_limit",
                t_ms=t,
                value=v,
                limit=lim.hr_high_bpm,
                abnormal=v > lim.hr_high_bpm,
            )
            found += self._limit(
                EventKind.HR_LOW,
                "hr_below_limit",
                t_ms=t,
                value=v,
                limit=lim.hr_low_bpm,
                abnormal=v < lim.hr_low_bpm,
            )
        for t, v in spo2_ok:
            self._trend_point(t, spo2=v)
            self._spo2_base.add(t, v)
            found += self._limit(
                EventKind.SPO2_LOW,
                "spo2_below_limit",
                t_ms=t,
                value=v,
                limit=lim.spo2_low_pct,
                abnormal=v < lim.spo2_low_pct,
            )
        if not hr_ok and not spo2_ok:
            self._trend.append(VitalPoint(t_ms=t_ms, hr_bpm=None, spo2_pct=None))
        if hr_ok:
            found += self._drift("hr", self._hr_base, t_ms, lim.hr_drift_min_bpm, both_ways=True)
        if spo2_ok:
            found += self._drift("spo2", self._spo2_base, t_ms, lim.spo2_drift_min_pct, both_ways=False)
        evidence = Evidence(vitals=tuple(self._trend))
        return [
            DetectionEvent(
                kind=kind,
                source_id=self.source_id,
                t_ms=t_ms,
                onset_ms=onset,
                reason=reason,
                measures=(
                    ("value", round(value, 1)),
                    ("baseline" if kind is EventKind.VITALS_DRIFT else "limit", round(limit, 1)),
                ),
                evidence=evidence,
            )
            for kind, reason, onset, value, limit in found
        ]

    def _trend_point(self, t_ms: int, *, hr: float | None = None, spo2: float | None = None) -> None:
        last = self._trend[-1] if self._trend else None
        if last is not None and last.t_ms == t_ms:
            hr = hr if hr is not None else last.hr_bpm
            spo2 = spo2 if spo2 is not None else last.spo2_pct
            self._trend.pop()
        self._trend.append(VitalPoint(t_ms=t_ms, hr_bpm=hr, spo2_pct=spo2))

    def _limit(
        self, kind: EventKind, reason: str, *, t_ms: int, value: float, limit: float, abnormal: bool
    ) -> list[tuple[EventKind, str, int, float, float]]:
        onset = self._rules[kind].update(t_ms, abnormal)
        return [] if onset is None else [(kind, reason, onset, value, limit)]

    def _drift(
        self, name: str, base: RobustBaseline, t_ms: int, min_delta: float, *, both_ways: bool
    ) -> list[tuple[EventKind, str, int, float, float]]:
        dev = base.deviation(t_ms)
        if dev is None:
            return []
        delta, sigma, median = dev
        size = delta if both_ways else -delta
        threshold = max(self.limits.drift_sigmas * sigma, min_delta)
        if abs(size) < threshold / 2:
            self._drifting.discard(name)
            return []
        if name in self._drifting or (abs(delta) if both_ways else size) < threshold:
            return []
        self._drifting.add(name)
        reason = f"{name}_drift_{'up' if delta > 0 else 'down'}"
        onset = t_ms - round(self.limits.recent_window_s * 1000)
        return [(EventKind.VITALS_DRIFT, reason, onset, median + delta, median)]


class VitalsStream:
    """The gateway's vital-sign detector for one device: every vitals uplink, with the care plan's limits."""

    def __init__(self, setup: Setup) -> None:
        self.device_id = setup.device_id
        self.limits = setup.config.vitals
        self.detector = VitalsDetector(self.device_id, self.limits)

    def observe(self, message: Observed, t_ms: int) -> Sequence[DetectionEvent]:
        if not isinstance(message, Vitals):
            return ()
        return self.detector.update(t_ms, message.hr_bpm, message.spo2_pct, motion=message.motion)

    def tick(self, t_ms: int) -> Sequence[DetectionEvent]:
        return ()

    def reconfigure(self, config: DetectorConfig) -> bool:
        if config.vitals == self.limits:
            return False
        self.limits = config.vitals
        self.detector = VitalsDetector(self.device_id, self.limits)
        return True


SPEC = DetectorSpec("vitals", VitalsStream)
