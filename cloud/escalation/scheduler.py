"""The escalation scheduler: fires persisted timers when they come due, in the app's lifespan.

Each round is one short transaction (claim due timers, apply their steps, mark them fired), then the
collected effects go out. It sleeps until the next due timer (at most ``IDLE_POLL_S``) or until woken:
a new incident, a claim, a failed message. Timers live in the database, so a restart loses nothing: the
first round after it fires whatever came due meanwhile (a repeating re-alert once, not once per round).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from cloud.db import Database
from cloud.escalation import service
from cloud.escalation.effects import Effects
from cloud.live.hub import LiveHub
from cloud.metrics import CloudMetrics

log = logging.getLogger(__name__)

IDLE_POLL_S = 1.0
MIN_WAIT_S = 0.01


class EscalationScheduler:
    def __init__(
        self,
        *,
        db: Database,
        hub: LiveHub,
        now_ms: Callable[[], int],
        wakeup: asyncio.Event,
        outbox_wakeup: asyncio.Event,
        metrics: CloudMetrics,
        late_grace_ms: int,
    ) -> None:
        self._db = db
        self._hub = hub
        self._now_ms = now_ms
        self._wakeup = wakeup
        self._outbox_wakeup = outbox_wakeup
        self._metrics = metrics
        self._late_grace_ms = late_grace_ms

    async def run(self) -> None:
        """Work until cancelled."""
        log.info("escalation.scheduler_started")
        while True:
            self._wakeup.clear()
            wait_s = IDLE_POLL_S
            try:
                while await self.tick():
                    pass
                wait_s = await self._seconds_until_due()
            except Exception:  # the loop must survive a DB hiccup; the next round retries
                log.exception("escalation.scheduler_error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=max(wait_s, MIN_WAIT_S))

    async def tick(self) -> int:
        """One round: fire what is due, move ladders whose message failed; returns how many steps ran."""
        effects = Effects()
        now = self._now_ms()
        async with self._db.sessions() as session:
            lateness = await service.fire_due(session=session, now_ms=now, effects=effects)
            moved = await service.advance_failed_rungs(session=session, now_ms=now, effects=effects)
            await session.commit()
        for late_ms in lateness:
            self._metrics.escalation_lateness.observe(late_ms / 1000)
        if effects:
            async with self._db.reads() as session:
                await effects.publish(session=session, hub=self._hub, outbox_wakeup=self._outbox_wakeup)
        if lateness or moved:
            log.info("escalation.fired steps=%d ladders_moved=%d", len(lateness), moved)
        return len(lateness) + moved

    async def _seconds_until_due(self) -> float:
        now = self._now_ms()
        async with self._db.reads() as session:
            due = await service.next_due_at(session=session)
            late = await service.late_steps(session=session, now_ms=now, grace_ms=self._late_grace_ms)
        self._metrics.escalation_late_steps.set(len(late))
        if due is None:
            return IDLE_POLL_S
        return max(0.0, min(IDLE_POLL_S, (due - now) / 1000))
