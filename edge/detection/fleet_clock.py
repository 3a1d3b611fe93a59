"""The fleet clock: "now" as the devices see it, taken from their messages (pure).

The gateway's periodic tick (silence, inactivity) must run on the devices' time, not the gateway's:
a simulation at ``--speed 60`` moves device time 60× faster than the wall clock, and real devices' clocks
drift. Each device's own clock cannot tell how much time has passed since it went quiet — that is the
question — so the fleet as a whole does: the **median** over the most recently heard distinct devices of
*their last timestamp + wall time since that message*. A few devices with skewed clocks move a median
of many only a little; a device that floods the gateway counts once.

When traffic is too thin (fewer than ``min_devices`` devices heard within ``fresh_ms``), the clock goes on
at wall-clock rate from its last estimate (before any estimate: the wall clock shifted by the devices'
median offset; before any message at all: the wall clock). It never goes back.
"""

from __future__ import annotations

from collections import OrderedDict


def _median(values: list[int]) -> int:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) // 2


class FleetClock:
    """``observe(device, device_ts, received_ms)`` for every accepted uplink; ``now(wall_ms)`` reads it."""

    __slots__ = (
        "_heard_since",
        "_latest",
        "_value",
        "_value_at",
        "fresh_ms",
        "min_devices",
        "sample",
        "thin",
    )

    def __init__(self, *, sample: int = 31, min_devices: int = 3, fresh_ms: int = 10_000) -> None:
        if sample < 1 or min_devices < 1 or fresh_ms <= 0:
            raise ValueError("sample, min_devices and fresh_ms must be positive")
        self.sample = sample
        self.min_devices = min(min_devices, sample)
        self.fresh_ms = fresh_ms
        self._latest: OrderedDict[str, tuple[int, int]] = (
            OrderedDict()
        )  # device -> (ts, received), newest last
        self._value: int | None = None
        self._value_at = 0
        self.thin = True  # whether the last reading fell back to the wall-clock rate
        self._heard_since = True  # a message came since the last reading (else a reading at the same
        # wall time is the same: several detectors ask for one message's time)

    def observe(self, device_id: str, device_ts: int, received_ms: int) -> None:
        previous = self._latest.pop(device_id, None)
        if previous is not None and previous[0] > device_ts:  # a late, reordered message: keep the newer
            device_ts = previous[0]
        self._latest[device_id] = (device_ts, received_ms)
        self._heard_since = True
        if len(self._latest) > self.sample:
            self._latest.popitem(last=False)

    def now(self, wall_ms: int) -> int:
        """Fleet time at wall time ``wall_ms`` (epoch ms; call with non-decreasing wall times)."""
        if not self._heard_since and self._value is not None and wall_ms == self._value_at:
            return self._value
        self._heard_since = False
        fresh = [ts + (wall_ms - rx) for ts, rx in self._latest.values() if wall_ms - rx <= self.fresh_ms]
        self.thin = len(fresh) < self.min_devices
        if not self.thin:
            estimate = _median(fresh)
        elif self._value is not None:
            estimate = self._value + max(0, wall_ms - self._value_at)
        elif self._latest:
            estimate = wall_ms + _median([ts - rx for ts, rx in self._latest.values()])
        else:
            return wall_ms  # nothing heard yet: not anchored, so the first devices still set the clock
        value = estimate if self._value is None else max(estimate, self._value)
        self._value, self._value_at = value, wall_ms
        return value
