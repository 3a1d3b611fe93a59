"""Forwarder: sends outbox events to the cloud's intake, most urgent first, until each is confirmed.

Each round takes the oldest pending event of each device (devices with a P1 pending first), sends them
concurrently and records the answers: 200/201 → delivered; 4xx (not 408/409/425/429) → parked as rejected with
the cloud's reason, except an SOS or fall refused as another gateway's device (403), which is sent again
flagged ``unassigned`` (the center shows an unassigned alarm); anything else → retried. When a whole
round fails the cloud is considered down: the forwarder waits (capped exponential backoff with
jitter), then probes with the single most urgent event; once that gets through every pending event is
due again, so the backlog drains in priority order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from http import HTTPStatus

import orjson

from contracts.intake import LIFE_ALARM_KINDS, IntakeAck, IntakeResult
from edge.delivery.backoff import Backoff
from edge.delivery.cloud_client import CloudClient, raise_for_status
from edge.delivery.outbox import Outbox, OutboxRow
from edge.errors import CloudError, CloudRejected, CloudUnavailable
from edge.metrics import EdgeMetrics

log = logging.getLogger(__name__)

_NEVER_DUE = 2**62
_LIFE_ALARMS = frozenset(kind.value for kind in LIFE_ALARM_KINDS)
_NO_BATCH_ROUTE = frozenset({HTTPStatus.NOT_FOUND, HTTPStatus.METHOD_NOT_ALLOWED})


def _outcome(result: IntakeResult) -> IntakeAck | CloudError:
    """One batch answer as the single ``POST``'s: an ack, or the error its status means."""
    if result.status < 300:
        return IntakeAck(key=result.key, incident_id=result.incident_id, duplicate=result.duplicate)
    try:
        raise_for_status(result.status, result.error or "")
    except (CloudRejected, CloudUnavailable) as exc:
        return exc
    return CloudUnavailable(f"cloud answered {result.status} for one event of a batch")


class Forwarder:
    def __init__(
        self,
        *,
        outbox: Outbox,
        cloud: CloudClient,
        metrics: EdgeMetrics,
        clock_ms: Callable[[], int],
        backoff: Backoff,
        row_backoff: Backoff,
        batch: int,
        concurrency: int,
    ) -> None:
        self._outbox = outbox
        self._cloud = cloud
        self._metrics = metrics
        self._clock_ms = clock_ms
        self._backoff = backoff
        self._row_backoff = row_backoff
        self._batch = batch
        self._sem = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._batch_route = True  # the center has the batch intake (cleared on its 404/405)
        self.cloud_down = False
        self.rounds = 0  # completed send rounds; ``progress`` is notified after each
        self.progress = asyncio.Condition()

    def wake(self) -> None:
        """New events are in the outbox."""
        self._wake.set()

    async def _wait(self, seconds: float | None) -> None:
        """Sleep until woken by a new event or ``seconds`` passed (None = until woken)."""
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def run(self) -> None:
        while True:
            self._wake.clear()
            if self.cloud_down:
                rows = await self._outbox.heads(now_ms=_NEVER_DUE, limit=1)  # probe: most urgent only
            else:
                rows = await self._outbox.heads(now_ms=self._clock_ms(), limit=self._batch)
            if not rows:
                due = await self._outbox.next_due_ms()
                await self._wait(None if due is None else max(0.0, (due - self._clock_ms()) / 1000))
                continue
            delivered, unavailable = await self._send_round(rows)
            await self._update_gauge()
            async with self.progress:
                self.rounds += 1
                self.progress.notify_all()
            if delivered:
                self._backoff.reset()
                if self.cloud_down:
                    self.cloud_down = False
                    self._metrics.cloud_up.set(1)
                    await self._outbox.make_all_due()
                    log.info("forwarder.cloud_back")
            elif unavailable:
                if not self.cloud_down:
                    log.warning("forwarder.cloud_down pending_heads=%d", len(rows))
                self.cloud_down = True
                self._metrics.cloud_up.set(0)
                # A pause, not a wait on ``_wake``: new events do not end it, the cloud is down for them too.
                await asyncio.sleep(self._backoff.next_delay())

    async def _send_round(self, rows: list[OutboxRow]) -> tuple[int, int]:
        results: list[str] = []
        if len(rows) > 1 and self._batch_route:
            await self._send_batch(rows, results)
        else:
            async with asyncio.TaskGroup() as group:
                for row in rows:
                    group.create_task(self._send_one(row, results))
        return results.count("delivered") + results.count("duplicate"), results.count("retry")

    async def _send_batch(self, rows: list[OutboxRow], results: list[str]) -> None:
        """The round's heads (one per device, so each device's order holds) in one batch request; each
        answer is settled as the single ``POST`` would be. A center without the batch route gets
        single posts from then on."""
        outcomes: list[IntakeAck | CloudError]
        try:
            answers = await self._cloud.post_events([row.body for row in rows])
        except CloudRejected as exc:
            if exc.status not in _NO_BATCH_ROUTE:
                raise
            self._batch_route = False
            log.warning("forwarder.batch_unsupported status=%d", exc.status)
            async with asyncio.TaskGroup() as group:
                for row in rows:
                    group.create_task(self._send_one(row, results))
            return
        except CloudUnavailable as exc:
            outcomes = [exc] * len(rows)
        else:
            outcomes = [_outcome(answer) for answer in answers]
        for row, outcome in zip(rows, outcomes, strict=True):
            results.append(await self._settle(row, outcome))

    async def _send_one(self, row: OutboxRow, results: list[str]) -> None:
        async with self._sem:
            outcome: IntakeAck | CloudError
            try:
                outcome = await self._cloud.post_event(row.body)
            except (CloudRejected, CloudUnavailable) as exc:
                outcome = exc
            results.append(await self._settle(row, outcome))

    async def _settle(self, row: OutboxRow, outcome: IntakeAck | CloudError) -> str:
        """Record the cloud's answer to ``row``; the result label."""
        if isinstance(outcome, CloudRejected):
            if await self._reroute(row, outcome):
                result = "rerouted"
            else:
                await self._outbox.mark_rejected(row.id, now_ms=self._clock_ms(), error=str(outcome))
                log.error("outbox.rejected key=%s status=%d", row.key, outcome.status)
                result = "rejected"
        elif isinstance(outcome, CloudError):
            delay = self._row_backoff.ceiling(row.attempts + 1)
            await self._outbox.retry_later(
                row.id, next_try_ms=self._clock_ms() + int(delay * 1000), error=str(outcome)
            )
            log.info("outbox.retry key=%s attempts=%d error=%s", row.key, row.attempts + 1, outcome)
            result = "retry"
        else:
            await self._outbox.mark_delivered(row.id, now_ms=self._clock_ms())
            result = "duplicate" if outcome.duplicate else "delivered"
            log.info("outbox.delivered key=%s duplicate=%s", row.key, outcome.duplicate)
        self._metrics.forwarded.labels(result=result).inc()
        return result

    async def _reroute(self, row: OutboxRow, exc: CloudRejected) -> bool:
        """An SOS or fall the center refused as another gateway's device (403) is sent again flagged
        ``unassigned``: the device was told help is coming, so the alarm must reach a human."""
        if exc.status != HTTPStatus.FORBIDDEN:
            return False
        kind = orjson.loads(row.body).get("kind")
        if kind not in _LIFE_ALARMS:
            return False
        flagged = await self._outbox.reroute_unassigned(row.id, row.body, now_ms=self._clock_ms())
        if flagged is None:
            return False
        log.warning("outbox.rerouted_unassigned key=%s kind=%s", row.key, kind)
        self.wake()
        return True

    async def _update_gauge(self) -> None:
        counts = await self._outbox.counts()
        self._metrics.outbox_pending.set(counts.pending)
