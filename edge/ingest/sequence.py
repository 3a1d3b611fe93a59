"""Per-device sequence window: spots replays, accepts small reordering, and bounds how far one message
may move it (pure, no I/O; the gateway's reference clock is passed in).

A device's messages are ordered by ``(boot, seq)``. Each device keeps its place — ``boot``, the highest
``seq`` seen in it (``high``) and the device clock of that message (``high_ts``) — and a bitmap of which of
the ``window`` numbers just below ``high`` were seen.

**Plausibility first.** A message that fails one of these moves nothing and is *quarantined*, with the
reason counted (the gateway drops it unless it is an alarm, see below):

* ``clock_ahead``: its ``ts`` is more than ``max_ahead_ms`` ahead of the reference clock (the gateway's
  clock, or the fleet's when a simulation runs faster). A forged far-future clock would otherwise make
  every later real message look older.
* ``boot_jump``: its boot is more than ``max_boot_jump`` above the device's.
* ``seq_jump``: within the same boot, its seq is more than ``max_seq_jump`` above ``high``. A device that
  really skipped that many numbers (messages lost on the way) confirms the jump with its next message: a
  second message just above the quarantined one (within ``window``, clock not older) is accepted and
  moves the window. A single message never does.

**Then the window.** A plausible message ``(b, s, ts)``:

* ``b > boot``                         → :attr:`Verdict.RESTARTED` (the device said it restarted);
* same boot, ``s > high``              → :attr:`Verdict.NEW` (the window slides up);
* same boot, ``high - window < s <= high``, seen → :attr:`Verdict.REPLAYED` (a copy carries the clock of
  the original, never newer than ``high``'s; a *newer* clock means a restarted counter, see below);
* same boot, ``high - window < s <= high``, not seen → :attr:`Verdict.OUT_OF_ORDER` (accepted);
* older (``s <= high - window``, or an earlier boot) → :attr:`Verdict.STALE`, unless its clock ``ts`` is
  newer than ``high_ts``: old firmware (no boot) restarted its counter → :attr:`Verdict.RESTARTED`.

Because a plausible ``high_ts`` is at most ``max_ahead_ms`` ahead, a real device recovers from any
accepted message within that time even in the worst case; alarms never wait for that (the gateway
judges SOS and falls by their stored copies, not by this window).

The state is in memory only. After a gateway restart the outbox (keys device + boot + seq, and the digest
of the message bytes) still tells a repeated alarm from a new one, and the cloud's intake does the same.
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
    CLOCK_AHEAD = "clock_ahead"
    BOOT_JUMP = "boot_jump"
    SEQ_JUMP = "seq_jump"

    @property
    def accepted(self) -> bool:
        return self in (Verdict.NEW, Verdict.OUT_OF_ORDER, Verdict.RESTARTED)

    @property
    def quarantined(self) -> bool:
        """Implausible: the message moved nothing."""
        return self in (Verdict.CLOCK_AHEAD, Verdict.BOOT_JUMP, Verdict.SEQ_JUMP)


QUARANTINE_REASONS = tuple(v.value for v in Verdict if v.quarantined)


@dataclass(slots=True)
class _DeviceWindow:
    boot: int
    high: int
    high_ts: int
    seen: int  # bit i set = seq (high - i) was seen; bit 0 is ``high`` itself
    jump: tuple[int, int, int] | None = None  # last quarantined seq jump: (boot, seq, ts)


DEFAULT_MAX_SEQ_JUMP = 100_000


@dataclass(frozen=True, slots=True)
class WindowLimits:
    """How far one message may move a device's window (see the module docstring)."""

    window: int = 256
    max_seq_jump: int = DEFAULT_MAX_SEQ_JUMP
    max_boot_jump: int = 16
    max_ahead_ms: int = 15 * 60_000

    def __post_init__(self) -> None:
        if (
            self.window < 1
            or self.max_seq_jump < self.window
            or self.max_boot_jump < 1
            or self.max_ahead_ms < 0
        ):
            raise ValueError("window >= 1, max_seq_jump >= window, max_boot_jump >= 1, max_ahead_ms >= 0")


class SequenceTracker:
    """Sequence windows of every device seen so far."""

    __slots__ = ("_devices", "_mask", "limits", "window")

    def __init__(self, window: int = 256, *, limits: WindowLimits | None = None) -> None:
        if window < 1:
            raise ValueError("window must be >= 1")
        self.limits = limits or WindowLimits(window=window, max_seq_jump=max(window, DEFAULT_MAX_SEQ_JUMP))
        self.window = self.limits.window
        self._mask = (1 << self.window) - 1
        self._devices: dict[str, _DeviceWindow] = {}

    def __len__(self) -> int:
        return len(self._devices)

    def check(
        self, device_id: str, seq: int, ts: int, *, boot: int = 0, now_ms: int | None = None
    ) -> Verdict:
        """Classify message ``(boot, seq)`` (device clock ``ts``) of ``device_id`` and record it if accepted.

        ``now_ms`` is the reference clock (None: no clock check).
        """
        limits = self.limits
        if now_ms is not None and ts > now_ms + limits.max_ahead_ms:
            return Verdict.CLOCK_AHEAD
        state = self._devices.get(device_id)
        if state is None:
            self._devices[device_id] = _DeviceWindow(boot=boot, high=seq, high_ts=ts, seen=1)
            return Verdict.NEW
        if boot > state.boot:
            if boot - state.boot > limits.max_boot_jump:
                return Verdict.BOOT_JUMP
            self._restart(device_id, boot, seq, ts)
            return Verdict.RESTARTED
        if boot < state.boot:
            return self._older(device_id, state, boot, seq, ts)
        if seq > state.high:
            if seq - state.high > limits.max_seq_jump and not self._confirms_jump(state, boot, seq, ts):
                state.jump = (boot, seq, ts)
                return Verdict.SEQ_JUMP
            shift = seq - state.high
            state.seen = ((state.seen << shift) | 1) & self._mask if shift < self.window else 1
            state.high = seq
            state.high_ts = ts
            state.jump = None
            return Verdict.NEW
        offset = state.high - seq
        if offset < self.window:
            bit = 1 << offset
            if state.seen & bit:
                if ts > state.high_ts:  # a copy carries its original clock; a newer one is a restart
                    self._restart(device_id, boot, seq, ts)
                    return Verdict.RESTARTED
                return Verdict.REPLAYED
            state.seen |= bit
            return Verdict.OUT_OF_ORDER
        return self._older(device_id, state, boot, seq, ts)

    def _older(self, device_id: str, state: _DeviceWindow, boot: int, seq: int, ts: int) -> Verdict:
        if ts > state.high_ts:  # old firmware restarted its counter (or lost its boot number)
            self._restart(device_id, boot, seq, ts)
            return Verdict.RESTARTED
        return Verdict.STALE

    def _confirms_jump(self, state: _DeviceWindow, boot: int, seq: int, ts: int) -> bool:
        if state.jump is None:
            return False
        jump_boot, jump_seq, jump_ts = state.jump
        return jump_boot == boot and jump_seq < seq <= jump_seq + self.window and ts >= jump_ts

    def _restart(self, device_id: str, boot: int, seq: int, ts: int) -> None:
        self._devices[device_id] = _DeviceWindow(boot=boot, high=seq, high_ts=ts, seen=1)

    def unmark(self, device_id: str, seq: int, boot: int = 0) -> None:
        """Forget that ``seq`` was seen (it could not be stored): its redelivery must be accepted."""
        state = self._devices.get(device_id)
        if state is not None and state.boot == boot and 0 <= state.high - seq < self.window:
            state.seen &= ~(1 << (state.high - seq))

    def forget(self, device_id: str) -> None:
        self._devices.pop(device_id, None)
