"""A condition that must hold over consecutive valid readings before it fires."""

from __future__ import annotations


class SustainedCondition:
    """Fires once per episode when a condition has held on every valid reading for at
    least ``sustain_ms`` and ``min_readings`` readings.

    Invalid readings (artifacts, sensor off) neither count nor break the episode, but a
    gap longer than ``max_gap_ms`` between valid readings starts over. A normal reading
    ends the episode and re-arms the condition.
    """

    __slots__ = ("_count", "_fired", "_first_ms", "_last_ms", "_max_gap_ms", "_min_readings", "_sustain_ms")

    def __init__(self, sustain_ms: int, min_readings: int, max_gap_ms: int) -> None:
        self._sustain_ms = sustain_ms
        self._min_readings = min_readings
        self._max_gap_ms = max_gap_ms
        self._first_ms: int | None = None
        self._last_ms: int | None = None
        self._count = 0
        self._fired = False

    @property
    def active(self) -> bool:
        """True while an episode that already fired is still going on."""
        return self._fired

    def update(self, t_ms: int, abnormal: bool) -> int | None:
        """Feed one valid reading; return the episode's onset time when it fires."""
        if self._last_ms is not None and t_ms - self._last_ms > self._max_gap_ms:
            self._reset()
        self._last_ms = t_ms
        if not abnormal:
            self._reset()
            return None
        if self._first_ms is None:
            self._first_ms = t_ms
        self._count += 1
        if (
            not self._fired
            and self._count >= self._min_readings
            and t_ms - self._first_ms >= self._sustain_ms
        ):
            self._fired = True
            return self._first_ms
        return None

    def _reset(self) -> None:
        self._first_ms = None
        self._count = 0
        self._fired = False
