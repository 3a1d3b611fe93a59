"""Per-device sequence window: spots replays, accepts small reordering (pure, no I/O).

Each device keeps the highest sequence number seen (``high``), the device clock of that message, and a
bitmap of which of the ``window`` numbers just below ``high`` were seen. A message with seq ``s``:

* ``s > high``                       → :attr:`Verdict.NEW` (the window slides up);
* ``high - window < s <= high``, seen → :attr:`Verdict.REPLAYED` (a copy carries the device clock of
  the original, never newer than ``high``'s; a *newer* clock means a restarted counter, see below);
* ``high - window < s <= high``, not  → :attr:`Verdict.OUT_OF_ORDER` (accepted, marked seen);
* ``s <= high - window``              → :attr:`Verdict.STALE` (rejected: too old to tell), unless the
  device clock ``ts`` is newer than that of ``high``'s message: the device restarted its counter
  (factory reset, firmware bug), so the window restarts at ``s`` → :attr:`Verdict.RESTARTED`.

The state is in memory only. After a gateway restart the outbox's unique key (device id + seq) still
stops a repeated alarm from being reported twice, and the cloud's intake is idempotent on the same key.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    NEW = "new"
    OUT_OF_ORDER = "out_of_order"
    RESTARTED = "restarted"
    REPLAYED = "replayed"
    STALE = "stale"

    @property
    def accepted(self) -> bool:
        return self in (Verdict.NEW, Verdict.OUT_OF_ORDER, Verdict.RESTARTED)


@dataclass(slots=True)
class _DeviceWindow:
    high: int
    high_ts: int
    seen: int  # bit i set = seq (high - i) was seen; bit 0 is ``high`` itself


class SequenceTracker:
    """Sequence windows of every device seen so far."""

    __slots__ = ("_devices", "_mask", "window")

    def __init__(self, window: int = 256) -> None:
        if window < 1:
            raise ValueError("window must be >= 1")
        self.window = window
        self._mask = (1 << window) - 1
        self._devices: dict[str, _DeviceWindow] = {}

    def __len__(self) -> int:
        return len(self._devices)

    def check(self, device_id: str, seq: int, ts: int) -> Verdict:
        """Classify message ``seq`` (device clock ``ts``) of ``device_id`` and record it if accepted."""
        state = self._devices.get(device_id)
        if state is None:
            self._devices[device_id] = _DeviceWindow(high=seq, high_ts=ts, seen=1)
            return Verdict.NEW
        if seq > state.high:
            shift = seq - state.high
            state.seen = ((state.seen << shift) | 1) & self._mask if shift < self.window else 1
            state.high = seq
            state.high_ts = ts
            return Verdict.NEW
        offset = state.high - seq
        if offset < self.window:
            bit = 1 << offset
            if state.seen & bit:
                if ts > state.high_ts:  # a copy carries its original clock; a newer one is a restart
                    self._devices[device_id] = _DeviceWindow(high=seq, high_ts=ts, seen=1)
                    return Verdict.RESTARTED
                return Verdict.REPLAYED
            state.seen |= bit
            return Verdict.OUT_OF_ORDER
        if ts > state.high_ts:
            self._devices[device_id] = _DeviceWindow(high=seq, high_ts=ts, seen=1)
            return Verdict.RESTARTED
        return Verdict.STALE

    def unmark(self, device_id: str, seq: int) -> None:
        """Forget that ``seq`` was seen (it could not be stored): its redelivery must be accepted."""
        state = self._devices.get(device_id)
        if state is not None and 0 <= state.high - seq < self.window:
            state.seen &= ~(1 << (state.high - seq))

    def forget(self, device_id: str) -> None:
        self._devices.pop(device_id, None)
