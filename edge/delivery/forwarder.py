"""Forwarder: sends outbox events to the cloud's intake, most urgent first, until each is confirmed.

Each round takes the oldest pending event of each device (devices with a P1 pending first), sends them
concurrently and records the answers: 200/201 → delivered; 4xx (not 408/409/425/429) → parked as rejected with
the cloud's reason, except an SOS or fall refused as another gateway's device (403), which is sent again
flagged ``unassigned`` (the center shows an unassigned alarm); anything else → retried. When a whole
round fails the cloud is considered down: the forwarder waits (capped exponential backoff with
jitter), then probes with the single most urgent event; once that gets through every pending event is
due again, so the backlog drains in priority order.

While it waits it asks ``/healthz`` every ``probe_s``; a good answer ends the wait at once, so the first
event reaches the cloud within about a probe period of its return, whatever the backoff. One exception
keeps a sick cloud from being hammered: when the cloud said it was well but then refused the event again
(5xx), its health check is believed again only after it failed once (the backoff runs meanwhile).
An event that degraded mode is working on (:class:`~edge.delivery.claims.KeyClaims`) is skipped for
the round, with its device's later events, and sent once it is released.

Rounds overlap: the forwarder is woken when an event is stored and starts a round for the heads that
are not in flight at once, without waiting for a round still waiting on the cloud (an SOS stored while
another device's event is being posted goes out immediately; measured under a 2,000-device fleet, the
wait behind the round in flight was most of an alarm's time on the gateway). The keys in flight stay
claimed, so each device's events still go one at a time, in order.

A round with more than one head goes as one batch (``POST /events/batch``, one head per device so each
device's order holds), every key of it claimed first and the rows read again after claiming; each
per-event answer is settled as the single ``POST``'s would be. A center answering 404/405 to the batch
route gets single posts from then on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from http import HTTPStatus

import orjson

from contracts.intake import LIFE_ALARM_KINDS, IntakeAck, IntakeResult
from edge.delivery.backoff import Backoff
from edge.delivery.claims import KeyClaims
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


class _Unavailable:
    """How many sends of a round failed as "try later", and whether the cloud answered any of them."""

    __slots__ = ("count", "reachable")

    def __init__(self) -> None:
        self.count = 0
        self.reachable = False

    def __bool__(self) -> bool:
        return self.count > 0


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
        claims: KeyClaims | None = None,
        probe_s: float = 1.0,
        probe_timeout_s: float = 2.0,
    ) -> None:
        self._outbox = outbox
        self._cloud = cloud
        self._metrics = metrics
        self._clock_ms = clock_ms
        self._backoff = backoff
        self._row_backoff = row_backoff
        self._batch = batch
        self._sem = asyncio.Semaphore(concurrency)
        self._claims = claims if claims is not None else KeyClaims()
        self._probe_s = probe_s
        self._probe_timeout_s = probe_timeout_s
        self._trust_health = True  # a good /healthz ends the pause (see the module)
        self._health_ended_pause = False
        self._wake = asyncio.Event()
        self._batch_route = True  # the center has the batch intake (cleared on its 404/405)
        self._in_flight: set[str] = set()  # keys of the rounds being sent
        self._pause_due: tuple[float, bool] | None = None  # (delay, cloud answered): set by a failed round
        self.cloud_down = False
        self.rounds = 0  # completed send rounds; ``progress`` is notified after each
        self.progress = asyncio.Condition()

    def wake(self) -> None:
        """New events are in the outbox (or one was released by degraded mode)."""
        self._wake.set()

    async def _wait(self, seconds: float | None) -> None:
        """Sleep until woken by a new event or ``seconds`` passed (None = until woken)."""
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def run(self) -> None:
        """Send rounds until cancelled. A round in flight does not hold up the next: an event stored
        meanwhile (another device's alarm) goes out at once in a round of its own, while the keys in
        flight stay claimed, so neither they nor their devices' later events are sent twice or out of
        order. While the cloud is down one probe at a time goes out."""
        async with asyncio.TaskGroup() as rounds:
            while True:
                self._wake.clear()
                if self._pause_due is not None:
                    delay, answered = self._pause_due
                    self._pause_due = None
                    # a pause, not a wait on ``_wake``: new events do not end it (the cloud is down)
                    await self._pause(delay, answered=answered)
                    continue
                if self.cloud_down and self._in_flight:
                    await self._wait(None)  # one probe at a time; its end wakes us
                    continue
                rewrites = self._claims.rewrites
                if self.cloud_down:
                    rows = await self._outbox.heads(now_ms=_NEVER_DUE, limit=1)  # probe: most urgent only
                else:
                    limit = self._batch + len(self._in_flight)  # heads in flight come back: skipped
                    rows = await self._outbox.heads(now_ms=self._clock_ms(), limit=limit)
                claimed = [row for row in rows if self._claims.try_claim(row.key)][: self._batch]
                if rows and not claimed:
                    await self._wait(None)  # in flight, or degraded mode has them: their end wakes us
                    continue
                if not rows:
                    if self._in_flight:
                        await self._wait(None)
                        continue
                    due = await self._outbox.next_due_ms()
                    await self._wait(None if due is None else max(0.0, (due - self._clock_ms()) / 1000))
                    continue
                self._in_flight.update(row.key for row in claimed)
                rounds.create_task(self._round(claimed, rewrites))

    async def _round(self, claimed: list[OutboxRow], rewrites: int) -> None:
        """Send ``claimed`` (keys claimed by :meth:`run`), record the answers, release the keys; the
        cloud's state is settled before :meth:`run` is woken to go on."""
        try:
            delivered, unavailable = await self._send_round(claimed, rewrites)
        except BaseException:
            self._in_flight.difference_update(row.key for row in claimed)
            self.wake()
            raise
        self._in_flight.difference_update(row.key for row in claimed)
        if delivered:
            self._backoff.reset()
            if self.cloud_down:
                self.cloud_down = False
                await self._outbox.make_all_due()
                log.info("forwarder.cloud_back")
        elif unavailable:
            if not self.cloud_down:
                log.warning("forwarder.cloud_down pending_heads=%d", len(claimed))
            self.cloud_down = True
            if unavailable.reachable and self._health_ended_pause:
                self._trust_health = False  # "healthy", yet it refused again
            if self._pause_due is None:
                self._pause_due = (self._backoff.next_delay(), unavailable.reachable)
        self.wake()
        await self._update_gauge()  # in this round's task: the next round does not wait for it
        async with self.progress:
            self.rounds += 1
            self.progress.notify_all()

    async def _pause(self, delay_s: float, *, answered: bool) -> None:
        """Wait out ``delay_s``, or less: until ``/healthz`` shows the cloud is back (see the module)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay_s
        self._health_ended_pause = False
        while (left := deadline - loop.time()) > 0:
            await asyncio.sleep(min(self._probe_s, left))
            if deadline - loop.time() <= 0:
                return
            if await self._cloud.healthy(timeout_s=self._probe_timeout_s):
                if self._trust_health or not answered:
                    self._health_ended_pause = True
                    log.info("forwarder.cloud_answers waited_s=%.1f", delay_s - (deadline - loop.time()))
                    return
            else:
                self._trust_health = True

    async def _send_round(self, claimed: list[OutboxRow], rewrites: int) -> tuple[int, _Unavailable]:
        results: list[str] = []
        unavailable = _Unavailable()
        try:
            fresh = await self._reread(claimed, rewrites)
            if len(fresh) > 1 and self._batch_route:
                await self._send_batch(fresh, results, unavailable)
            else:
                await self._send_each(fresh, results, unavailable)
        finally:
            for row in claimed:
                self._claims.release(row.key)
        return results.count("delivered") + results.count("duplicate"), unavailable

    async def _reread(self, rows: list[OutboxRow], rewrites: int) -> list[OutboxRow]:
        """The claimed rows as they are now: degraded mode may have changed a body since ``heads``
        (``rewrites``: the claims' count of rewrites before ``heads`` was read)."""
        if self._claims.rewrites == rewrites:
            return rows
        fresh = [await self._outbox.pending_row(row.id) for row in rows]
        return [row for row in fresh if row is not None]

    async def _send_each(self, rows: list[OutboxRow], results: list[str], unavailable: _Unavailable) -> None:
        async with asyncio.TaskGroup() as group:
            for row in rows:
                group.create_task(self._send_one(row, results, unavailable))

    async def _send_batch(self, rows: list[OutboxRow], results: list[str], unavailable: _Unavailable) -> None:
        """The round's heads (one per device, so each device's order holds; all claimed) in one batch
        request; each answer is settled as the single ``POST`` would be. A center without the batch route
        (404/405) gets single posts from then on; a batch refused as a whole gets single posts this round,
        so each event gets its own answer."""
        outcomes: list[IntakeAck | CloudError]
        try:
            answers = await self._cloud.post_events([row.body for row in rows])
        except CloudRejected as exc:
            if exc.status in _NO_BATCH_ROUTE:
                self._batch_route = False
                log.warning("forwarder.batch_unsupported status=%d", exc.status)
            else:
                log.warning("forwarder.batch_refused status=%d size=%d", exc.status, len(rows))
            await self._send_each(rows, results, unavailable)
            return
        except CloudUnavailable as exc:
            outcomes = [exc] * len(rows)
        else:
            outcomes = [_outcome(answer) for answer in answers]
        for row, outcome in zip(rows, outcomes, strict=True):
            results.append(await self._settle(row, outcome, unavailable))

    async def _send_one(self, row: OutboxRow, results: list[str], unavailable: _Unavailable) -> None:
        async with self._sem:
            outcome: IntakeAck | CloudError
            try:
                outcome = await self._cloud.post_event(row.body)
            except (CloudRejected, CloudUnavailable) as exc:
                outcome = exc
            results.append(await self._settle(row, outcome, unavailable))

    async def _settle(
        self, row: OutboxRow, outcome: IntakeAck | CloudError, unavailable: _Unavailable
    ) -> str:
        """Record the cloud's answer to ``row`` (claimed); the result label."""
        if isinstance(outcome, CloudRejected):
            if await self._reroute(row, outcome):
                result = "rerouted"
            else:
                await self._outbox.mark_rejected(row.id, now_ms=self._clock_ms(), error=str(outcome))
                log.error("outbox.rejected key=%s status=%d", row.key, outcome.status)
                result = "rejected"
        elif isinstance(outcome, CloudError):
            unavailable.count += 1
            unavailable.reachable = unavailable.reachable or (
                isinstance(outcome, CloudUnavailable) and outcome.reachable
            )
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
