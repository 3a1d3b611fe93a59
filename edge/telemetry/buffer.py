"""``BufferedSink``: the bounded buffer and flush loop both telemetry adapters share.

``write`` appends to an in-memory buffer of at most ``buffer_size`` points and returns; when the
buffer is full the *oldest* points are dropped and counted (recent data matters more on a dashboard,
and memory stays bounded whatever the store does). ``run`` sends batches of ``batch_size`` whenever a
batch is full or ``flush_interval_s`` passed. A batch that fails with :class:`TelemetryUnavailable`
is kept aside (at most one batch beyond the buffer) and retried after a capped exponential backoff;
one that fails with :class:`TelemetryRejected` is dropped and counted. Nothing here ever raises into
the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import TypeVar

from edge.delivery.backoff import Backoff
from edge.telemetry.sink import Point, SinkStats, TelemetryRejected, TelemetryUnavailable

log = logging.getLogger(__name__)

CLOSE_FLUSH_S = 2.0  # how long close() may spend sending what is left
ENCODE_SLICE = 100  # points encoded between two yields to the loop (~0.2 ms), so an SOS never waits long

T = TypeVar("T")


async def encode_in_slices(batch: list[Point], encode: Callable[[Point], T]) -> list[T]:
    """Encode on the loop, yielding every ``ENCODE_SLICE`` points: a 500-point batch costs ~1 ms of
    Python, which must not sit in one piece in front of an alarm (nor hold the GIL on a thread)."""
    out: list[T] = []
    for start in range(0, len(batch), ENCODE_SLICE):
        if start:
            await asyncio.sleep(0)
        out += [encode(point) for point in batch[start : start + ENCODE_SLICE]]
    return out


class BufferedSink:
    name = "buffered"

    def __init__(
        self, *, batch_size: int, flush_interval_s: float, buffer_size: int, backoff: Backoff
    ) -> None:
        if batch_size < 1 or buffer_size < 1 or flush_interval_s <= 0:
            raise ValueError("telemetry needs batch_size >= 1, buffer_size >= 1, flush_interval_s > 0")
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._buffer_size = buffer_size
        self._backoff = backoff
        self._buffer: deque[Point] = deque()
        self._inflight: list[Point] = []  # the batch being sent (or waiting to be retried)
        self._batch_ready = asyncio.Event()
        self._written = self._dropped_full = self._dropped_rejected = self._retries = 0
        self._failing = False
        self._opened = False
        self._sending = asyncio.Lock()
        self.progress = asyncio.Condition()  # notified after every attempt (tests and tools wait on it)

    # -- the port ----------------------------------------------------------------------------------
    def write(self, points: Iterable[Point]) -> None:
        buffer = self._buffer
        for point in points:
            if len(buffer) >= self._buffer_size:
                buffer.popleft()
                self._dropped_full += 1
            buffer.append(point)
        if len(buffer) >= self._batch_size:
            self._batch_ready.set()

    @property
    def stats(self) -> SinkStats:
        return SinkStats(
            written=self._written,
            dropped_full=self._dropped_full,
            dropped_rejected=self._dropped_rejected,
            retries=self._retries,
            buffered=len(self._buffer) + len(self._inflight),
        )

    async def open(self) -> None:
        """Open the store (once); raises :class:`TelemetryError` if it cannot."""
        if not self._opened:
            await self._open()
            self._opened = True

    async def run(self) -> None:
        """Open the store, then flush until cancelled."""
        await self.open()
        await self._flush_loop()

    async def _flush_loop(self) -> None:
        while True:
            if len(self._buffer) < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._flush_interval_s):
                        await self._batch_ready.wait()
            self._batch_ready.clear()
            await self.flush(retry=True)

    async def flush(self, *, retry: bool = False) -> bool:
        """Send everything buffered now. With ``retry``, wait out failures (backoff) until sent;
        without, stop at the first retryable failure (the batch stays for later). True if all sent."""
        async with self._sending:
            return await self._flush(retry)

    async def _flush(self, retry: bool) -> bool:
        while self._inflight or self._buffer:
            if not self._inflight:
                count = min(self._batch_size, len(self._buffer))
                self._inflight = [self._buffer.popleft() for _ in range(count)]
            sent = await self._attempt()
            async with self.progress:
                self.progress.notify_all()
            if not sent:
                if not retry:
                    return False
                await asyncio.sleep(self._backoff.next_delay())
        return True

    async def close(self) -> None:
        try:
            async with asyncio.timeout(CLOSE_FLUSH_S):
                await self.flush(retry=False)
        except TimeoutError:
            pass
        except Exception:
            log.exception("telemetry.close_failed sink=%s", self.name)
        if self._buffer or self._inflight:
            log.warning("telemetry.unsent sink=%s points=%d", self.name, self.stats.buffered)
        with contextlib.suppress(Exception):
            await self._close()

    # -- one attempt -------------------------------------------------------------------------------
    async def _attempt(self) -> bool:
        """Try the in-flight batch once. False only when it should be retried."""
        batch = self._inflight
        try:
            await self._send(batch)
        except TelemetryUnavailable as exc:
            self._retries += 1
            if not self._failing:
                log.warning("telemetry.unavailable sink=%s points=%d error=%s", self.name, len(batch), exc)
            self._failing = True
            return False
        except TelemetryRejected as exc:
            self._dropped_rejected += len(batch)
            log.error("telemetry.rejected sink=%s dropped=%d error=%s", self.name, len(batch), exc)
        except Exception:  # a bug in an adapter must not loop forever on one batch
            self._dropped_rejected += len(batch)
            log.exception("telemetry.send_failed sink=%s dropped=%d", self.name, len(batch))
        else:
            self._written += len(batch)
            if self._failing:
                log.info("telemetry.recovered sink=%s retries=%d", self.name, self._retries)
            self._failing = False
            self._backoff.reset()
        self._inflight = []
        return True

    # -- adapters implement these ------------------------------------------------------------------
    async def _open(self) -> None:
        pass

    async def _send(self, batch: list[Point]) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        pass
