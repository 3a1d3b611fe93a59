"""Inactivity: no movement, button press or presence for longer than usual while awake.

Only time inside the configured waking hours (local time = UTC + ``utc_offset_min``)
counts, so a night's sleep is never "inactivity". The usual longest quiet spell is
learned from the person's own history (a high quantile of past waking-hour gaps) and
the alarm threshold is ``factor`` × that, clamped to [``min_quiet_s``, ``max_quiet_s``];
until ``min_history`` gaps have been seen ``default_quiet_s`` is used. One
``inactivity`` event per quiet spell; any activity re-arms it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from contracts import AccelBatch, DeviceKind, Status, Vitals
from edge.detection.events import DetectionEvent, EventKind
from edge.detection.stream import DetectorSpec, Observed, Setup
from edge.detection.time_order import TimeOrder

if TYPE_CHECKING:
    from edge.detection.config import DetectorConfig

DAY_MS = 86_400_000
MINUTE_MS = 60_000
MOVING_STD_G = 0.05  # an accel batch counts as activity when |a| varies more than this


@dataclass(frozen=True, slots=True, kw_only=True)
class InactivityConfig:
    """Waking hours as minutes after local midnight (``wake_min`` < ``sleep_min``)."""

    wake_min: int = 7 * 60
    sleep_min: int = 22 * 60
    utc_offset_min: int = 8 * 60
    default_quiet_s: float = 3 * 3600.0
    min_quiet_s: float = 1.5 * 3600.0
    max_quiet_s: float = 6 * 3600.0
    factor: float = 1.5
    quantile: float = 0.95
    min_history: int = 20
    history: int = 500
    min_gap_to_learn_s: float = 600.0


def waking_ms_between(start_ms: int, end_ms: int, cfg: InactivityConfig) -> int:
    """Milliseconds of waking hours inside [start_ms, end_ms)."""
    if end_ms <= start_ms:
        return 0
    offset = cfg.utc_offset_min * MINUTE_MS
    first_day = (start_ms + offset) // DAY_MS
    last_day = (end_ms + offset) // DAY_MS
    total = 0
    for day in range(first_day, last_day + 1):
        lo = day * DAY_MS - offset + cfg.wake_min * MINUTE_MS
        hi = day * DAY_MS - offset + cfg.sleep_min * MINUTE_MS
        total += max(0, min(hi, end_ms) - max(lo, start_ms))
    return total


class InactivityDetector:
    """Per-person inactivity watch.

    Call :meth:`activity` for every sign of life (movement, button, presence sensor)
    and :meth:`tick` with the current message time (e.g. each heartbeat)."""

    def __init__(self, source_id: str, config: InactivityConfig | None = None) -> None:
        self.source_id = source_id
        self.config = config if config is not None else InactivityConfig()
        self._order = TimeOrder()
        self._last_activity_ms: int | None = None
        self._alarmed = False
        self._gaps: deque[float] = deque(maxlen=self.config.history)

    def threshold_s(self) -> float:
        """Current quiet-time threshold in seconds of waking time."""
        cfg = self.config
        if len(self._gaps) < cfg.min_history:
            return cfg.default_quiet_s
        usual = float(np.quantile(np.asarray(self._gaps), cfg.quantile))
        return min(max(cfg.factor * usual, cfg.min_quiet_s), cfg.max_quiet_s)

    def activity(self, t_ms: int) -> list[DetectionEvent]:
        """Record a sign of life at ``t_ms``; it may also complete an overdue alarm."""
        events = self.tick(t_ms)
        if self._last_activity_ms is not None:
            gap_s = waking_ms_between(self._last_activity_ms, t_ms, self.config) / 1000.0
            if gap_s >= self.config.min_gap_to_learn_s and not self._alarmed:
                self._gaps.append(gap_s)
        self._last_activity_ms = t_ms
        self._alarmed = False
        return events

    def tick(self, t_ms: int) -> list[DetectionEvent]:
        """Check the quiet time at ``t_ms``; returns an event once per quiet spell."""
        self._order.advance(t_ms)
        last = self._last_activity_ms
        if last is None or self._alarmed:
            return []
        quiet_s = waking_ms_between(last, t_ms, self.config) / 1000.0
        threshold = self.threshold_s()
        if quiet_s < threshold:
            return []
        self._alarmed = True
        return [
            DetectionEvent(
                kind=EventKind.INACTIVITY,
                source_id=self.source_id,
                t_ms=t_ms,
                onset_ms=last,
                reason="no_activity_beyond_usual",
                measures=(("quiet_waking_s", round(quiet_s)), ("threshold_s", round(threshold))),
            )
        ]


class InactivityStream:
    """The gateway's inactivity watch for one wearable: moving accel batches and vitals flagged with
    motion are signs of life, status reports move its clock, and so does the gateway's tick."""

    def __init__(self, setup: Setup) -> None:
        self.device_id = setup.device_id
        self.detector = InactivityDetector(self.device_id, setup.config.inactivity)
        self.last_activity_ms: int | None = None  # kept across a care-plan change

    def observe(self, message: Observed, t_ms: int) -> Sequence[DetectionEvent]:
        if isinstance(message, AccelBatch):
            samples = message.array()
            moving = float(np.std(np.linalg.norm(samples, axis=1))) > MOVING_STD_G if len(samples) else False
            return self._activity(t_ms) if moving else ()
        if isinstance(message, Vitals):
            return self._activity(t_ms) if message.motion else ()
        if isinstance(message, Status):
            return self.detector.tick(t_ms)
        return ()

    def _activity(self, t_ms: int) -> list[DetectionEvent]:
        events = self.detector.activity(t_ms)
        self.last_activity_ms = t_ms
        return events

    def tick(self, t_ms: int) -> Sequence[DetectionEvent]:
        return self.detector.tick(t_ms)

    def reconfigure(self, config: DetectorConfig) -> bool:
        if config.inactivity == self.detector.config:
            return False
        self.detector = InactivityDetector(self.device_id, config.inactivity)
        if self.last_activity_ms is not None:
            self.detector.activity(self.last_activity_ms)
        return True


def _inactivity(setup: Setup) -> InactivityStream | None:
    return InactivityStream(setup) if setup.kind is DeviceKind.WEARABLE else None


SPEC = DetectorSpec("inactivity", _inactivity)
