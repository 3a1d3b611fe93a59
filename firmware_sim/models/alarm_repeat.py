"""The device side of the alarm contract: repeat an alarm until the gateway says ``alarm_received`` (pure).

An MQTT PUBACK only says the broker took the message; a broker killed before it saved or delivered it
loses the alarm anyway. So the firmware keeps every SOS / fall alarm it raised and sends the very same
message again (same ``seq``, same ``ts``, same bytes: the gateway deduplicates it and answers with
``alarm_received`` again) after 5 s, 10 s, 20 s, … capped at 60 s, until the gateway confirms it (or an
operator acknowledges or closes it, or the person cancels it). See docs/protocol.md, "Alarms".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

REPEAT_FIRST_MS = 5_000
REPEAT_MAX_MS = 60_000

T = TypeVar("T")


@dataclass(slots=True)
class _Unconfirmed(Generic[T]):
    message: T
    due_ms: int
    gap_ms: int
    sent: int = 1


class AlarmRepeater(Generic[T]):
    """Alarms waiting for the gateway's confirmation, keyed by seq; ``due(now_ms)`` gives the repeats."""

    def __init__(self, first_ms: int = REPEAT_FIRST_MS, max_ms: int = REPEAT_MAX_MS) -> None:
        if not 0 < first_ms <= max_ms:
            raise ValueError("need 0 < first_ms <= max_ms")
        self.first_ms = first_ms
        self.max_ms = max_ms
        self._waiting: dict[int, _Unconfirmed[T]] = {}
        self.repeats = 0  # alarms sent again so far

    def __len__(self) -> int:
        return len(self._waiting)

    def __contains__(self, seq: object) -> bool:
        return seq in self._waiting

    def add(self, seq: int, message: T, now_ms: int) -> None:
        """``message`` (alarm ``seq``) was just sent: repeat it from ``now_ms + first_ms`` on."""
        self._waiting[seq] = _Unconfirmed(message, now_ms + self.first_ms, self.first_ms)

    def confirm(self, seq: int) -> bool:
        """The gateway confirmed (or the alarm ended): stop repeating it. True if it was waiting."""
        return self._waiting.pop(seq, None) is not None

    def clear(self) -> None:
        """Forget every waiting alarm (the device lost its memory)."""
        self._waiting.clear()

    @property
    def next_due_ms(self) -> int | None:
        return min((w.due_ms for w in self._waiting.values()), default=None)

    def due(self, now_ms: int) -> list[T]:
        """The alarms to send again at ``now_ms`` (in seq order); each backs off (doubling, capped)."""
        out: list[T] = []
        for seq in sorted(self._waiting):
            waiting = self._waiting[seq]
            if waiting.due_ms <= now_ms:
                waiting.gap_ms = min(self.max_ms, waiting.gap_ms * 2)
                waiting.due_ms = now_ms + waiting.gap_ms
                waiting.sent += 1
                out.append(waiting.message)
        self.repeats += len(out)
        return out

    def shift(self, delta_ms: int) -> None:
        for waiting in self._waiting.values():
            waiting.due_ms += delta_ms
