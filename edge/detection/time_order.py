"""Guard that keeps a detector's clock from going backwards silently."""

from __future__ import annotations

from edge.detection.errors import OutOfOrderError


class TimeOrder:
    """Remembers the latest timestamp seen and rejects older ones.

    ``tolerance_ms`` allows small reordering (e.g. two messages with the same device
    second); anything older than ``last - tolerance_ms`` raises :class:`OutOfOrderError`.
    """

    __slots__ = ("_last_ms", "_tolerance_ms")

    def __init__(self, tolerance_ms: int = 0) -> None:
        self._last_ms: int | None = None
        self._tolerance_ms = tolerance_ms

    @property
    def last_ms(self) -> int | None:
        """The latest timestamp accepted so far (``None`` before the first one)."""
        return self._last_ms

    def check(self, t_ms: int) -> None:
        """Raise :class:`OutOfOrderError` if ``t_ms`` is too old; do not record it."""
        if self._last_ms is not None and t_ms < self._last_ms - self._tolerance_ms:
            raise OutOfOrderError(f"timestamp {t_ms} ms is older than {self._last_ms} ms")

    def advance(self, t_ms: int) -> None:
        """Check ``t_ms`` and record it as the latest timestamp if it is newer."""
        self.check(t_ms)
        if self._last_ms is None or t_ms > self._last_ms:
            self._last_ms = t_ms
