"""The time up to which the gateway has heard everything its devices sent (pure).

Silence and inactivity are decided on a periodic tick. A gateway that is behind must not take its own
backlog for the devices' silence: a message still waiting in the queue, or shed because the gateway
could not keep up, was sent. So the tick runs at ``now − lag`` (the wait of the oldest queued message),
and while telemetry is being shed it does not move on at all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TickClock:
    last_ms: int = 0  # the tick time handed out last (never goes back)
    shed_seen: int = 0  # shed counter at the last tick

    def advance(self, now_ms: int, *, lag_ms: int, shed_total: int) -> int:
        """The tick time for a tick at ``now_ms`` with the oldest queued message ``lag_ms`` old and
        ``shed_total`` messages shed so far."""
        shedding = shed_total > self.shed_seen
        self.shed_seen = shed_total
        if not shedding or not self.last_ms:
            self.last_ms = max(self.last_ms, now_ms - max(0, lag_ms))
        return self.last_ms
