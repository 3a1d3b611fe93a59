"""A per-device buffer of recent tri-axial acceleration with a sample-index clock.

Batches arrive as (n, 3) arrays in g plus the timestamp of their first sample. The
stream numbers samples 0, 1, 2, ... and keeps the last few seconds (``acc``/``mag`` are views of a
buffer with room for more: a batch is written after the last one, and only when the room runs out
is the kept tail copied into a new buffer — written samples never change, so a view taken earlier
stays what it was). Small clock jitter
between batches is absorbed; a forward gap or a rate change starts a new segment
(``segment`` increments, indices restart at 0); a batch that starts clearly before the
end of the previous one raises :class:`OutOfOrderError` and changes nothing.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from edge.detection.errors import InvalidInputError, OutOfOrderError

MAX_ABS_G = 32.0


class AccelStream:
    """Recent acceleration of one device. Read ``acc``/``mag`` with absolute indices
    via :meth:`local`; ``start`` is the absolute index of ``acc[0]``."""

    def __init__(self, keep_s: float) -> None:
        self._keep_s = keep_s
        self.acc: NDArray[np.float64] = np.zeros((0, 3))
        self.mag: NDArray[np.float64] = np.zeros(0)
        self.start = 0
        self.count = 0
        self.segment = 0
        self.rate_hz = 0.0
        self._origin_ms = 0.0
        self._last_good = np.zeros(3)
        self._acc_buf: NDArray[np.float64] = self.acc  # ``acc`` and ``mag`` end at ``_end`` of these
        self._mag_buf: NDArray[np.float64] = self.mag
        self._end = 0

    def time_ms(self, index: int) -> int:
        """Timestamp of absolute sample ``index`` in the current segment."""
        return round(self._origin_ms + index * 1000.0 / self.rate_hz)

    def local(self, index: int) -> int:
        """Position of absolute sample ``index`` inside ``acc``/``mag``."""
        return index - self.start

    def append(self, samples: NDArray[np.float64], t0_ms: int, rate_hz: float) -> int:
        """Add a batch; return how many samples were appended."""
        arr = np.asarray(samples, dtype=np.float64)
        if arr.size == 0:
            return 0
        if arr.ndim != 2 or arr.shape[1] != 3:
            raise InvalidInputError(f"samples must have shape (n, 3), got {arr.shape}")
        if not np.isfinite(rate_hz) or rate_hz <= 0:
            raise InvalidInputError(f"sampling rate must be positive, got {rate_hz}")
        self._place(int(t0_ms), float(rate_hz))
        arr = self._clean(arr)
        keep = round(self._keep_s * rate_hz) + len(arr)
        self._push(arr, np.sqrt(np.einsum("ij,ij->i", arr, arr)), keep)
        self.count += len(arr)
        self.start = self.count - len(self.acc)
        return len(arr)

    def _push(self, arr: NDArray[np.float64], mag: NDArray[np.float64], keep: int) -> None:
        """``acc``/``mag`` become the last ``keep`` samples with ``arr``/``mag`` appended."""
        n = len(arr)
        size = min(len(self.acc) + n, keep)
        end = self._end
        if end + n > len(self._mag_buf):  # no room: a new buffer, the kept tail first
            old = size - n
            capacity = 2 * keep + n
            acc_buf, mag_buf = np.empty((capacity, 3)), np.empty(capacity)
            acc_buf[:old] = self.acc[len(self.acc) - old :]
            mag_buf[:old] = self.mag[len(self.mag) - old :]
            self._acc_buf, self._mag_buf, end = acc_buf, mag_buf, old
        self._acc_buf[end : end + n] = arr
        self._mag_buf[end : end + n] = mag
        end += n
        self._end = end
        self.acc = self._acc_buf[end - size : end]
        self.mag = self._mag_buf[end - size : end]

    def _place(self, t0_ms: int, rate_hz: float) -> None:
        if self.count and rate_hz == self.rate_hz:
            expected = self._origin_ms + self.count * 1000.0 / rate_hz
            tolerance = max(2.5 * 1000.0 / rate_hz, 100.0)
            if t0_ms < expected - tolerance:
                raise OutOfOrderError(f"batch at {t0_ms} ms starts before {expected:.0f} ms")
            if t0_ms <= expected + tolerance:
                return
        elif self.count and t0_ms < self.time_ms(self.count - 1):
            raise OutOfOrderError(f"batch at {t0_ms} ms starts before the previous one ended")
        self.acc = np.zeros((0, 3))
        self.mag = np.zeros(0)
        self._acc_buf, self._mag_buf, self._end = self.acc, self.mag, 0
        self.start = 0
        self.count = 0
        self.segment += 1
        self.rate_hz = rate_hz
        self._origin_ms = float(t0_ms)

    def _clean(self, arr: NDArray[np.float64]) -> NDArray[np.float64]:
        """Hold the last good sample over rows that are NaN/inf or beyond ±32 g (no
        accelerometer worn on a body reports that: it is a corrupt reading)."""
        good: NDArray[np.bool_] = np.asarray((np.abs(arr) <= MAX_ABS_G).all(axis=1))
        if not good.all():
            arr = arr.copy()
            last = self.acc[-1] if len(self.acc) else self._last_good
            for i in range(len(arr)):
                if good[i]:
                    last = arr[i]
                else:
                    arr[i] = last
        self._last_good = arr[-1].copy()
        return arr
