"""Per-recipient message budget, pure: at most ``limit`` messages in any ``window_ms``. No I/O.

A flood of alarms for one person (8 false-alarm cycles in a minute) must not send 8 texts to each
guardian: the first ``limit`` go out, later ones are held and coalesce into one summary that goes out
as soon as the window has room again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LIMIT = 5
WINDOW_MS = 10 * 60_000


@dataclass(frozen=True, slots=True)
class Budget:
    limit: int = LIMIT
    window_ms: int = WINDOW_MS

    def next_slot(self, scheduled_at: Sequence[int], *, now_ms: int) -> int:
        """The earliest time ≥ ``now_ms`` at which one more message keeps the window that ends there
        within ``limit`` messages.

        ``scheduled_at``: when each message already sent or queued to this recipient goes out.
        """
        times = sorted(scheduled_at)
        if len(times) < self.limit:
            return now_ms
        return max(now_ms, times[-self.limit] + self.window_ms)

    def admits(self, scheduled_at: Sequence[int], *, now_ms: int) -> bool:
        """True when a message may go out right now."""
        return self.next_slot(scheduled_at, now_ms=now_ms) <= now_ms
