"""Artifact rejection for one vital-sign channel (heart rate or SpO2)."""

from __future__ import annotations

import math


def is_plausible(value: float | None, lo: float, hi: float) -> bool:
    """False for sensor-off codes (None, 0, -1), NaN/inf and physiologically impossible
    values outside [lo, hi]."""
    if value is None or isinstance(value, bool):
        return False
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(v) and v > 0 and lo <= v <= hi


class JumpFilter:
    """Accepts plausible readings; a reading that jumps more than ``max_jump`` from the
    last accepted one (within ``window_ms``) is held as suspect and only accepted when
    the next plausible reading confirms the new level. Unconfirmed jumps are dropped as
    artifacts (motion, probe slipping)."""

    __slots__ = ("_hi", "_last", "_lo", "_max_jump", "_pending", "_window_ms")

    def __init__(self, *, lo: float, hi: float, max_jump: float, window_ms: int) -> None:
        self._lo = lo
        self._hi = hi
        self._max_jump = max_jump
        self._window_ms = window_ms
        self._last: tuple[int, float] | None = None
        self._pending: tuple[int, float] | None = None

    def push(self, t_ms: int, value: float | None) -> list[tuple[int, float]]:
        """Feed one reading; return the readings accepted now, oldest first."""
        if not is_plausible(value, self._lo, self._hi):
            return []
        v = float(value)  # type: ignore[arg-type]
        pending, self._pending = self._pending, None
        if (
            pending is not None
            and t_ms - pending[0] <= self._window_ms
            and abs(v - pending[1]) <= self._max_jump
        ):
            self._last = (t_ms, v)
            return [pending, (t_ms, v)]
        last = self._last
        if last is not None and t_ms - last[0] <= self._window_ms and abs(v - last[1]) > self._max_jump:
            self._pending = (t_ms, v)
            return []
        self._last = (t_ms, v)
        return [(t_ms, v)]
