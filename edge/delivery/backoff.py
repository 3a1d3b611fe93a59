"""Capped exponential backoff with full jitter (pure: randomness is a parameter)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """Delay before the next attempt: ``uniform(base/2, base)`` where ``base = min(cap, initial * 2**n)``.

    "Equal jitter" keeps at least half the delay, so a fleet of gateways that lost the cloud together
    does not come back in lock-step, yet no retry happens much sooner than planned. ``reset()`` after a
    success.
    """

    initial_s: float = 0.5
    cap_s: float = 30.0
    rand: Callable[[], float] = field(default=random.random)
    failures: int = 0

    def __post_init__(self) -> None:
        if self.initial_s <= 0 or self.cap_s < self.initial_s:
            raise ValueError("backoff needs 0 < initial_s <= cap_s")

    def ceiling(self, failures: int | None = None) -> float:
        """Upper bound of the delay after ``failures`` consecutive failures (default: current)."""
        n = self.failures if failures is None else failures
        if n <= 0:
            return 0.0
        # 2**60 would overflow float math only after absurd counts; clamp the exponent first.
        return min(self.cap_s, self.initial_s * float(2 ** min(n - 1, 60)))

    def next_delay(self) -> float:
        """Record one more failure and return how long to wait before retrying."""
        self.failures += 1
        top = self.ceiling()
        return top / 2 + self.rand() * top / 2

    def reset(self) -> None:
        self.failures = 0
