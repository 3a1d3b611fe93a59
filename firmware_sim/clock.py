"""Simulated time: epoch milliseconds that run ``speed`` times faster than the wall clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SimClock:
    """``now_ms()`` = ``start_ms`` + elapsed wall time × ``speed`` (wall time from ``monotonic``)."""

    start_ms: int
    speed: float = 1.0
    monotonic: Callable[[], float] = time.monotonic
    _origin: float = field(init=False)

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError("speed must be positive")
        self._origin = self.monotonic()

    def now_ms(self) -> int:
        return self.start_ms + int((self.monotonic() - self._origin) * 1000.0 * self.speed)

    def wall_delay_s(self, sim_ms: int) -> float:
        """Wall seconds until simulated time reaches ``sim_ms`` (0 when already past)."""
        return max(0.0, (sim_ms - self.now_ms()) / 1000.0 / self.speed)
