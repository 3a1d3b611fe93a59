"""Queue one message to one person within their budget (at most 5 in any 10 minutes, see
:mod:`cloud.notify.rate_limit`); over budget, the message is kept as ``merged`` and folded into one
summary SMS that goes out as soon as the window has room. Functions flush; callers commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.notify.models import Notification
from cloud.notify.rate_limit import Budget
from cloud.notify.service import MERGED, QUEUED, SENT
from cloud.notify.templates import summary_text

SUMMARY = "summary"


@dataclass(frozen=True, slots=True)
class Recipient:
    contact: str  # "guardian:12", "worker:3"
    phone: str
    language: str
    guardian_id: int | None = None


async def _scheduled_times(session: AsyncSession, phone: str, since_ms: int) -> list[int]:
    # when each message goes out: a held summary at its slot, others when sent (or when queued: a row
    # being sent or retried carries a lease or backoff time in next_attempt_at, not its send time)
    when = case(
        (Notification.kind == SUMMARY, Notification.next_attempt_at),
        else_=func.coalesce(Notification.sent_at, Notification.created_at),
    )
    rows = await session.scalars(
        select(when).where(
            Notification.to_phone == phone, Notification.status.in_((QUEUED, SENT)), when > since_ms
        )
    )
    return [int(t) for t in rows.all()]


async def queue_message(
    *,
    session: AsyncSession,
    incident_id: int,
    recipient: Recipient,
    channel: str,
    kind: str,
    body: str,
    masked_name: str,
    now_ms: int,
    budget: Budget | None = None,
) -> Notification:
    """Queue ``body`` to ``recipient`` on ``channel`` now, or fold it into their held summary."""
    budget = budget or Budget()
    note = Notification(
        incident_id=incident_id,
        guardian_id=recipient.guardian_id,
        to_phone=recipient.phone,
        language=recipient.language,
        body=body,
        status=QUEUED,
        attempts=0,
        next_attempt_at=now_ms,
        created_at=now_ms,
        channel=channel,
        kind=kind,
        contact=recipient.contact,
    )
    summary = await session.scalar(  # a summary already held back: later messages join it, in order
        select(Notification)
        .where(
            Notification.to_phone == recipient.phone,
            Notification.kind == SUMMARY,
            Notification.status == QUEUED,
            Notification.next_attempt_at > now_ms,
        )
        .order_by(Notification.id.desc())
        .limit(1)
    )
    slot = budget.next_slot(
        await _scheduled_times(session, recipient.phone, now_ms - budget.window_ms), now_ms=now_ms
    )
    session.add(note)  # after the queries above: they must not count it
    if summary is None and slot <= now_ms:
        await session.flush()
        return note
    if summary is None:
        summary = Notification(
            incident_id=incident_id,
            guardian_id=recipient.guardian_id,
            to_phone=recipient.phone,
            language=recipient.language,
            body="",
            status=QUEUED,
            attempts=0,
            next_attempt_at=slot,
            created_at=now_ms,
            channel="sms",
            kind=SUMMARY,
            contact=recipient.contact,
        )
        session.add(summary)
    note.status = MERGED
    note.next_attempt_at = summary.next_attempt_at
    await session.flush()
    merged = await session.scalar(
        select(func.count()).where(
            Notification.to_phone == recipient.phone,
            Notification.status == MERGED,
            Notification.next_attempt_at == summary.next_attempt_at,
        )
    )
    summary.body = summary_text(language=recipient.language, masked_name=masked_name, count=int(merged or 1))
    await session.flush()
    return note
