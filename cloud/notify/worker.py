"""The outbox worker: sends queued SMS, marks them sent, retries failures with capped backoff.

Runs as a task in the app's lifespan. It never holds a database transaction across a network call:
it claims due rows (one short transaction), sends, then records each result (another).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from cloud.db import SessionFactory
from cloud.metrics import CloudMetrics
from cloud.notify import service
from cloud.notify.models import Notification
from cloud.notify.port import Notifier, NotifierError
from cloud.phones import display_phone, mask_phone
from cloud.timeline.entries import SYSTEM_ACTOR, add_entry

log = logging.getLogger(__name__)

IDLE_POLL_S = 5.0
MIN_WAIT_S = 0.05  # never spin, even when rows are due but held by another worker
LEASE_MS = 120_000


@dataclass(frozen=True, slots=True)
class _Job:
    id: int
    incident_id: int
    to: str
    body: str
    channel: str = "sms"


class OutboxWorker:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        notifier: Notifier,
        now_ms: Callable[[], int],
        wakeup: asyncio.Event,
        metrics: CloudMetrics,
        max_attempts: int,
        send_timeout_s: float,
        on_failed: asyncio.Event | None = None,
    ) -> None:
        """``on_failed`` is set when a message fails for good (the escalation scheduler's wakeup)."""
        self._sessions = sessions
        self._notifier = notifier
        self._now_ms = now_ms
        self._wakeup = wakeup
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._send_timeout_s = send_timeout_s
        self._on_failed = on_failed

    async def run(self) -> None:
        """Work until cancelled."""
        log.info("notify.worker_started")
        while True:
            self._wakeup.clear()
            wait_s = IDLE_POLL_S
            try:
                await self.drain()
                wait_s = await self._seconds_until_due()
            except Exception:  # the loop must survive a DB hiccup; the next round retries
                log.exception("notify.worker_error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=max(wait_s, MIN_WAIT_S))

    async def drain(self) -> int:
        """Send everything due now; returns how many were sent."""
        sent = 0
        while True:
            async with self._sessions() as session:
                claimed = await service.claim_due(session=session, now_ms=self._now_ms(), lease_ms=LEASE_MS)
                jobs = [_Job(n.id, n.incident_id, n.to_phone, n.body, n.channel) for n in claimed]
                await session.commit()
            if not jobs:
                return sent
            for job in jobs:
                sent += await self._send(job)

    async def _send(self, job: _Job) -> int:
        try:
            async with asyncio.timeout(self._send_timeout_s):
                if job.channel == "voice":
                    provider_id = await self._notifier.call(to=job.to, text=job.body)
                else:
                    provider_id = await self._notifier.send_sms(to=job.to, body=job.body)
        except (NotifierError, TimeoutError) as exc:
            retryable = exc.retryable if isinstance(exc, NotifierError) else True
            await self._record(job, provider_id=None, error=str(exc) or "timeout", retryable=retryable)
            self._metrics.notifications.labels("retry" if retryable else "failed").inc()
            log.warning(
                "notify.send_failed id=%d to=%s retryable=%s error=%s",
                job.id,
                mask_phone(job.to),
                retryable,
                type(exc).__name__,
            )
            return 0
        await self._record(job, provider_id=provider_id, error=None, retryable=False)
        self._metrics.notifications.labels("sent").inc()
        return 1

    async def _record(
        self, job: _Job, *, provider_id: str | None, error: str | None, retryable: bool
    ) -> None:
        now = self._now_ms()
        async with self._sessions() as session:
            note = await session.get(Notification, job.id)
            if note is None:
                return
            if provider_id is not None:
                service.record_sent(note, provider_id=provider_id, now_ms=now)
                add_entry(
                    session,
                    job.incident_id,
                    at=now,
                    type_="call_placed" if job.channel == "voice" else "sms_sent",
                    actor=SYSTEM_ACTOR,
                    text=(
                        f"语音呼叫已拨出 call placed to {display_phone(job.to)}"
                        if job.channel == "voice"
                        else f"短信已发送 SMS sent to {display_phone(job.to)}"
                    ),
                    notification_id=job.id,
                    channel=job.channel,
                )
            else:
                service.record_failure(
                    note,
                    error=error or "error",
                    retryable=retryable,
                    now_ms=now,
                    max_attempts=self._max_attempts,
                )
            failed = note.status == service.FAILED
            await session.commit()
        if failed and self._on_failed is not None:
            self._on_failed.set()  # the guardian ladder moves on from a message that cannot go out

    async def _seconds_until_due(self) -> float:
        async with self._sessions() as session:
            due = await service.next_due_at(session=session)
        if due is None:
            return IDLE_POLL_S
        return max(0.0, min(IDLE_POLL_S, (due - self._now_ms()) / 1000))
