"""The live progress line: connected devices, messages per second, errors, simulated time."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from firmware_sim.groundtruth import CST
from firmware_sim.link import LinkStats


@dataclass
class Rate:
    """Messages per second over the last interval (and the best interval seen)."""

    _last_count: int = 0
    _last_time: float = field(default_factory=time.monotonic)
    current: float = 0.0
    peak: float = 0.0

    def update(self, count: int, now: float) -> float:
        elapsed = now - self._last_time
        if elapsed > 0:
            self.current = (count - self._last_count) / elapsed
            self.peak = max(self.peak, self.current)
        self._last_count, self._last_time = count, now
        return self.current


def render(stats: LinkStats, *, total: int, rate: float, sim_ms: int, speed: float, lag_s: float) -> str:
    sim_time = datetime.fromtimestamp(sim_ms / 1000, UTC).astimezone(CST).strftime("%m-%d %H:%M:%S")
    dropped = stats.dropped_offline + stats.dropped_backpressure
    return (
        f"[sim] 在线/connected {stats.connected}/{total}  msg/s {rate:,.0f}  sent {stats.sent:,}  "
        f"acked {stats.acked:,}  errors {stats.errors}  dropped {dropped}  reconnects {stats.reconnects}  "
        f"sim {sim_time} x{speed:g}  lag {lag_s:.1f}s"
    )


async def report(
    stats: LinkStats,
    total: int,
    *,
    sim_ms: Callable[[], int],
    lag_s: Callable[[], float],
    speed: float,
    interval_s: float = 1.0,
    stream: TextIO = sys.stderr,
) -> None:
    """Rewrite one line on a terminal (not a terminal: a new line every 10 intervals). Until cancelled."""
    rate = Rate()
    tty = stream.isatty()
    n = 0
    try:
        while True:
            await asyncio.sleep(interval_s)
            current = rate.update(stats.sent, time.monotonic())
            line = render(stats, total=total, rate=current, sim_ms=sim_ms(), speed=speed, lag_s=lag_s())
            n += 1
            if tty:
                stream.write("\r\x1b[2K" + line)
                stream.flush()
            elif n % 10 == 0:
                stream.write(line + "\n")
                stream.flush()
    finally:
        if tty:
            stream.write("\n")
