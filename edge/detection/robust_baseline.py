"""Personal baseline of a vital sign with robust statistics (median / MAD)."""

from __future__ import annotations

from collections import deque

import numpy as np

MAD_TO_SIGMA = 1.4826


class RobustBaseline:
    """Rolling median/MAD of accepted readings over ``window_ms``, compared with the
    median of the most recent ``recent_ms``.

    At most one reading per ``step_ms`` enters the baseline so that fast sensors do not
    make it expensive. Until ``min_readings`` older readings exist the baseline is
    warming up and :meth:`deviation` returns ``None``.
    """

    def __init__(
        self,
        *,
        window_ms: int,
        recent_ms: int,
        step_ms: int,
        min_readings: int,
        min_recent: int,
        sigma_floor: float,
    ) -> None:
        self._window_ms = window_ms
        self._recent_ms = recent_ms
        self._step_ms = step_ms
        self._min_readings = min_readings
        self._min_recent = min_recent
        self._sigma_floor = sigma_floor
        self._points: deque[tuple[int, float]] = deque()

    def add(self, t_ms: int, value: float) -> None:
        """Record an accepted reading."""
        if self._points and t_ms - self._points[-1][0] < self._step_ms:
            return
        self._points.append((t_ms, value))
        while self._points and self._points[0][0] < t_ms - self._window_ms - self._recent_ms:
            self._points.popleft()

    def deviation(self, t_ms: int) -> tuple[float, float, float] | None:
        """(recent median - baseline median, robust sigma of the baseline, baseline
        median), or ``None`` while warming up."""
        cut = t_ms - self._recent_ms
        old = [v for t, v in self._points if t < cut]
        recent = [v for t, v in self._points if t >= cut]
        if len(old) < self._min_readings or len(recent) < self._min_recent:
            return None
        base = np.asarray(old)
        median = float(np.median(base))
        sigma = max(MAD_TO_SIGMA * float(np.median(np.abs(base - median))), self._sigma_floor)
        return float(np.median(recent)) - median, sigma, median
