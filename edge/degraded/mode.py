"""Degraded mode: the center has not confirmed a P1 alarm in time, so the edge texts the guardians.

Every alarm (SOS, fall) still pending ``delay_s`` after it was stored is taken in turn, holding its
outbox key (:class:`~edge.delivery.claims.KeyClaims`) so the forwarder cannot send it meanwhile:

1. still pending? cancelled on the device (a stored ``sos_cancel`` names it)? → nothing to text;
2. each guardian of the person (registry snapshot) not texted yet gets the edge's SMS (masked name,
   zh-CN or English), recorded per guardian in ``edge_sms`` before and after the provider call;
3. the outbox row is marked (``edge_notified_ms``) and its body rewritten with ``edge_notified`` =
   the guardians texted, so when the event reaches the center it records "guardians notified by the
   edge" and does not text them a second time.

A retryable failure is tried again (``retry_s``, at most ``MAX_ATTEMPTS``); the row is finished once
every guardian was texted or given up on. Nothing here is on the alarm path: the SOS was stored and
acknowledged long before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from contracts import EdgeEvent, EventKind, encode
from edge.degraded import policy
from edge.degraded.notifier import Notifier, NotifierError, mask_phone
from edge.degraded.records import SmsRecords
from edge.degraded.texts import edge_alert_text
from edge.delivery.claims import KeyClaims
from edge.delivery.outbox import AlarmRow, Outbox
from edge.errors import OutboxError
from edge.metrics import EdgeMetrics
from edge.registry.store import DeviceRegistry

log = logging.getLogger(__name__)

BATCH = 50
POLL_S = 1.0  # how often alarms waiting for an SMS retry are looked at again


class DegradedMode:
    def __init__(
        self,
        *,
        outbox: Outbox,
        records: SmsRecords,
        registry: DeviceRegistry,
        notifier: Notifier,
        claims: KeyClaims,
        metrics: EdgeMetrics,
        clock_ms: Callable[[], int],
        delay_s: float,
        send_timeout_s: float,
        retry_s: float = 30.0,
        on_released: Callable[[], None] = lambda: None,
        batch: int = BATCH,
    ) -> None:
        self._outbox = outbox
        self._records = records
        self._registry = registry
        self._notifier = notifier
        self._claims = claims
        self._metrics = metrics
        self._clock_ms = clock_ms
        self._delay_ms = int(delay_s * 1000)
        self._send_timeout_s = send_timeout_s
        self._retry_ms = int(retry_s * 1000)
        self._on_released = on_released
        self._batch = batch
        self._wake = asyncio.Event()
        self.rounds = 0  # completed checks; ``progress`` is notified after each
        self.progress = asyncio.Condition()

    def wake(self) -> None:
        """A new alarm was stored: it sets a new deadline."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.check()
                wait_s = await self._next_wait_s()
            except OutboxError:
                log.exception("degraded.check_failed")
                wait_s = POLL_S
            async with self.progress:
                self.rounds += 1
                self.progress.notify_all()
            try:
                async with asyncio.timeout(wait_s):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _next_wait_s(self) -> float | None:
        first = await self._outbox.first_unconfirmed_alarm_ms()
        if first is None:
            return None  # nothing pending: a new alarm wakes us
        due_in_ms = first + self._delay_ms - self._clock_ms()
        return POLL_S if due_in_ms <= 0 else min(due_in_ms / 1000, POLL_S * 60)

    async def check(self) -> int:
        """Act on every overdue alarm once; returns how many were looked at."""
        now = self._clock_ms()
        seen, after_id = 0, 0
        while True:  # in pages, so alarms waiting for an SMS retry never hide newer ones
            rows = await self._outbox.unconfirmed_alarms(
                created_before_ms=now - self._delay_ms, limit=self._batch, after_id=after_id
            )
            for row in rows:
                await self._claims.claim(row.key)
                try:
                    await self._handle(row)
                finally:
                    self._claims.release(row.key)
                    self._on_released()
            seen += len(rows)
            if len(rows) < self._batch:
                return seen
            after_id = rows[-1].id

    async def _handle(self, row: AlarmRow) -> None:
        current = await self._outbox.pending_row(row.id)
        if current is None:
            return  # the center confirmed it while we waited for the key
        now = self._clock_ms()
        if await self._outbox.cancelled(row.key):
            await self._outbox.note_edge_notified(row.id, body=None, finished_ms=now)
            self._metrics.degraded_alarms.labels(result="cancelled").inc()
            log.info("degraded.cancelled key=%s", row.key)
            return
        device = self._registry.get(row.device_id)
        guardians = device.guardians if device is not None else ()
        if not guardians:
            await self._outbox.note_edge_notified(row.id, body=None, finished_ms=now)
            self._metrics.degraded_alarms.labels(result="no_guardians").inc()
            log.warning("degraded.no_guardians key=%s", row.key)
            return
        event = EdgeEvent.model_validate_json(current.body)
        masked = device.masked_name if device is not None and device.masked_name else "**"
        for guardian in policy.due_guardians(guardians, await self._records.of(row.key), now_ms=now):
            body = edge_alert_text(
                language=guardian.language,
                masked_name=masked,
                device_kind=device.kind if device is not None else None,
                event_kind=EventKind(row.kind),
                at_ms=event.device_ts,
            )
            await self._send(row.key, guardian.guardian_id, guardian.phone, body)
        records = await self._records.of(row.key)
        notices = policy.notices(records)
        finished = policy.finished(guardians, records)
        new_body = encode(event.model_copy(update={"edge_notified": notices})) if notices else None
        await self._outbox.note_edge_notified(
            row.id, body=new_body, finished_ms=self._clock_ms() if finished else None
        )
        if new_body is not None:
            self._claims.rewrote()
        if finished:
            self._metrics.degraded_alarms.labels(result="notified" if notices else "failed").inc()
            log.warning("degraded.notified key=%s guardians=%d of=%d", row.key, len(notices), len(guardians))

    async def _send(self, key: str, guardian_id: int, phone: str, body: str) -> None:
        await self._records.begin(
            key,
            guardian_id,
            to_masked=mask_phone(phone),
            body=body,
            provider=self._notifier.name,
            now_ms=self._clock_ms(),
        )
        try:
            async with asyncio.timeout(self._send_timeout_s):
                message_id = await self._notifier.send_sms(to=phone, body=body)
        except (NotifierError, TimeoutError) as exc:
            retryable = exc.retryable if isinstance(exc, NotifierError) else True
            error = str(exc) or type(exc).__name__
            await self._records.failed(
                key,
                guardian_id,
                error=error,
                retryable=retryable,
                next_try_ms=self._clock_ms() + self._retry_ms,
            )
            self._metrics.guardian_sms.labels(result="retry" if retryable else "failed").inc()
            log.warning(
                "edge_sms.failed key=%s guardian=%d retryable=%s error=%s", key, guardian_id, retryable, error
            )
            return
        await self._records.sent(key, guardian_id, provider_id=message_id, now_ms=self._clock_ms())
        self._metrics.guardian_sms.labels(result="sent").inc()
        log.info("edge_sms.recorded key=%s guardian=%d", key, guardian_id)
