"""Notification outbox: queue an SMS per guardian, hand due ones to the worker, record the result."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.notify.models import ConsoleSms, Notification
from cloud.notify.templates import alert_text
from cloud.registry.models import CaseWorker, Community, Guardian, Subject

QUEUED, SENT, FAILED = "queued", "sent", "failed"
MERGED = "merged"  # over the recipient's budget: folded into a summary
DROPPED = "dropped"  # no longer worth sending (the incident was claimed or closed first)
BACKOFF_BASE_S = 2
BACKOFF_CAP_S = 300


async def queue_guardian_alerts(
    *,
    session: AsyncSession,
    incident_id: int,
    subject_id: int,
    masked_name: str,
    device_kind: str,
    incident_kind: str,
    at_ms: int,
    now_ms: int,
) -> list[Notification]:
    """Queue one alert SMS per guardian of the subject, in priority order (flushes, does not commit)."""
    guardians = (
        await session.scalars(
            select(Guardian).where(Guardian.subject_id == subject_id).order_by(Guardian.priority, Guardian.id)
        )
    ).all()
    queued = []
    for guardian in guardians:
        body = alert_text(
            language=guardian.language,
            masked_name=masked_name,
            device_kind=device_kind,
            incident_kind=incident_kind,
            at_ms=at_ms,
        )
        note = Notification(
            incident_id=incident_id,
            guardian_id=guardian.id,
            to_phone=guardian.phone,
            language=guardian.language,
            body=body,
            status=QUEUED,
            attempts=0,
            next_attempt_at=now_ms,
            created_at=now_ms,
        )
        session.add(note)
        queued.append(note)
    await session.flush()
    return queued


async def claim_due(
    *, session: AsyncSession, now_ms: int, lease_ms: int, limit: int = 20
) -> list[Notification]:
    """Claim due notifications: push their next attempt ``lease_ms`` ahead so no other worker takes
    them while they are being sent (a crash mid-send makes them due again: at-least-once)."""
    rows = await session.scalars(
        select(Notification)
        .where(Notification.status == QUEUED, Notification.next_attempt_at <= now_ms)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(rows.all())
    for note in claimed:
        note.next_attempt_at = now_ms + lease_ms
    await session.flush()
    return claimed


async def next_due_at(*, session: AsyncSession) -> int | None:
    return await session.scalar(
        select(Notification.next_attempt_at)
        .where(Notification.status == QUEUED)
        .order_by(Notification.next_attempt_at)
        .limit(1)
    )


def record_sent(note: Notification, *, provider_id: str, now_ms: int) -> None:
    note.status = SENT
    note.attempts += 1
    note.sent_at = now_ms
    note.provider_id = provider_id[:64]
    note.last_error = None


def record_failure(
    note: Notification, *, error: str, retryable: bool, now_ms: int, max_attempts: int
) -> None:
    note.attempts += 1
    note.last_error = error[:200]
    if not retryable or note.attempts >= max_attempts:
        note.status = FAILED
        return
    delay_s = min(BACKOFF_BASE_S**note.attempts, BACKOFF_CAP_S)
    note.next_attempt_at = now_ms + delay_s * 1000


async def guardian_id_of_phone(*, session: AsyncSession, phone: str) -> int | None:
    """The stable, opaque key of a phone number for browsers: its first guardian's id (None if none)."""
    return await session.scalar(select(func.min(Guardian.id)).where(Guardian.phone == phone))


async def streets_by_phone(*, session: AsyncSession) -> dict[str, int]:
    """The street of each guardian's and case worker's number (its first holder's), for street scope."""
    guardians = await session.execute(
        select(Guardian.phone, Community.street_id)
        .join(Subject, Subject.id == Guardian.subject_id)
        .join(Community, Community.id == Subject.community_id)
        .order_by(Guardian.id.desc())
    )
    workers = await session.execute(
        select(CaseWorker.phone, Community.street_id)
        .join(Community, Community.id == CaseWorker.community_id)
        .order_by(CaseWorker.id.desc())
    )
    return dict([*workers.all(), *guardians.all()])  # later pairs win: guardians, lowest id last


async def street_of_phone(*, session: AsyncSession, phone: str) -> int | None:
    street = await session.scalar(
        select(Community.street_id)
        .join(Subject, Subject.community_id == Community.id)
        .join(Guardian, Guardian.subject_id == Subject.id)
        .where(Guardian.phone == phone)
        .order_by(Guardian.id)
        .limit(1)
    )
    if street is None:
        street = await session.scalar(
            select(Community.street_id)
            .join(CaseWorker, CaseWorker.community_id == Community.id)
            .where(CaseWorker.phone == phone)
            .order_by(CaseWorker.id)
            .limit(1)
        )
    return street


async def guardian_ids_by_phone(*, session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Guardian.phone, func.min(Guardian.id)).group_by(Guardian.phone))
    return {phone: guardian_id for phone, guardian_id in rows}


async def console_messages(*, session: AsyncSession, limit: int = 500) -> list[ConsoleSms]:
    rows = await session.scalars(select(ConsoleSms).order_by(ConsoleSms.id.desc()).limit(limit))
    return list(rows.all())
