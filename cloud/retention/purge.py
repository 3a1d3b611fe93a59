"""The purge job: delete what the :class:`RetentionPolicy` says is due, in batches, on a timer.

One batch is one transaction: an expired incident goes together with its timeline, events,
notifications, guardian replies, edge commands, escalation (record and timers) and drill. The audit
of reveals outlives it (who saw whose personal data stays on record): its rows only lose the link
to the incident. The dev phone page's messages (``console_sms``) and acknowledged edge commands that
belong to no incident expire on the same clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.commands.models import CommandRecord
from cloud.db import RETENTION_LOCK, SessionFactory, try_job_lock
from cloud.drills.models import DrillRecord
from cloud.escalation.models import EscalationRecord, EscalationTimer
from cloud.incidents.lifecycle import CLOSED_STATUSES
from cloud.incidents.models import Incident
from cloud.intake.models import EventRecord
from cloud.notify.models import ConsoleSms, GuardianReply, Notification
from cloud.plans.models import RevealRecord
from cloud.retention.policy import RetentionPolicy
from cloud.timeline.models import TimelineEntry

log = logging.getLogger(__name__)

BATCH = 500
# every table with a foreign key to incidents: rows go with their incident (or, in KEPT, stay unlinked)
DEPENDENTS = (
    (TimelineEntry, TimelineEntry.incident_id),
    (EventRecord, EventRecord.incident_id),
    (Notification, Notification.incident_id),
    (GuardianReply, GuardianReply.incident_id),
    (CommandRecord, CommandRecord.incident_id),
    (EscalationTimer, EscalationTimer.incident_id),
    (EscalationRecord, EscalationRecord.incident_id),
    (DrillRecord, DrillRecord.incident_id),
)
KEPT = ((RevealRecord, RevealRecord.incident_id),)  # audit rows: kept, the link to the incident cleared


@dataclass(frozen=True, slots=True)
class PurgeResult:
    incidents: int = 0
    console_sms: int = 0
    commands: int = 0

    def __add__(self, other: PurgeResult) -> PurgeResult:
        return PurgeResult(
            self.incidents + other.incidents,
            self.console_sms + other.console_sms,
            self.commands + other.commands,
        )


async def purge_batch(*, session: AsyncSession, policy: RetentionPolicy, now_ms: int) -> PurgeResult:
    """Delete up to :data:`BATCH` expired incidents and other expired rows (flushes; caller commits).
    With several center workers on PostgreSQL one purges at a time; the others find nothing to do."""
    if not await try_job_lock(session, RETENTION_LOCK):
        return PurgeResult()
    cutoff = policy.incident_cutoff_ms(now_ms)
    ids = list(
        await session.scalars(
            select(Incident.id)
            .where(Incident.status.in_(sorted(CLOSED_STATUSES)), Incident.updated_at < cutoff)
            .order_by(Incident.id)
            .limit(BATCH)
        )
    )
    if ids:
        for model, column in DEPENDENTS:
            await session.execute(delete(model).where(column.in_(ids)))
        for kept, link in KEPT:
            await session.execute(update(kept).where(link.in_(ids)).values({link: None}))
        await session.execute(delete(Incident).where(Incident.id.in_(ids)))
    sms = await session.execute(delete(ConsoleSms).where(ConsoleSms.sent_at < cutoff))
    commands = await session.execute(
        delete(CommandRecord).where(
            CommandRecord.incident_id.is_(None),
            CommandRecord.acked_at.is_not(None),
            CommandRecord.acked_at < cutoff,
        )
    )
    await session.flush()
    return PurgeResult(len(ids), _count(sms), _count(commands))


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_expired(*, sessions: SessionFactory, policy: RetentionPolicy, now_ms: int) -> PurgeResult:
    """Purge batch after batch (one transaction each) until nothing more is due."""
    total = PurgeResult()
    while True:
        async with sessions() as session:
            done = await purge_batch(session=session, policy=policy, now_ms=now_ms)
            await session.commit()
        total += done
        if done.incidents < BATCH:
            return total


class RetentionJob:
    """Runs :func:`purge_expired` every ``interval_s`` until cancelled; a failed run is logged, not fatal."""

    def __init__(
        self,
        *,
        sessions: SessionFactory,
        policy: RetentionPolicy,
        now_ms: Callable[[], int],
        interval_s: float,
    ) -> None:
        self._sessions = sessions
        self._policy = policy
        self._now_ms = now_ms
        self._interval_s = interval_s
        self.runs = 0

    async def run_once(self) -> PurgeResult:
        result = await purge_expired(sessions=self._sessions, policy=self._policy, now_ms=self._now_ms())
        self.runs += 1
        if result.incidents or result.console_sms or result.commands:
            log.info(
                "retention.purged incidents=%d console_sms=%d commands=%d days=%g",
                result.incidents,
                result.console_sms,
                result.commands,
                self._policy.incident_days,
            )
        return result

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("retention.failed")
            await asyncio.sleep(self._interval_s)  # a timer, not a wait for a condition
