"""Escalations against the database: start one per incident, fire due timers, stop on a human.

Timers are rows (``escalation_timers``). :func:`fire_due` claims due rows with ``SELECT … FOR UPDATE
SKIP LOCKED`` on PostgreSQL (several cloud workers share the work, each row fires once) — on SQLite the
database's single writer does the same — and turns each one ``fired`` in the transaction that applies its
effects, so a step happens exactly once even across restarts. Functions flush; callers commit, then
publish the collected :class:`~cloud.escalation.effects.Effects`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.escalation import engine, ladder_steps
from cloud.escalation.effects import ESCALATED, REALERT, Effects
from cloud.escalation.ladder import Advance, LadderStatus
from cloud.escalation.models import (
    CANCELLED,
    FIRED,
    PENDING,
    STEP,
    EscalationRecord,
    EscalationTimer,
)
from cloud.escalation.policy import Action, Policy
from cloud.incidents.lifecycle import OPEN_STATUSES
from cloud.incidents.models import Incident
from cloud.incidents.scope import in_streets
from cloud.notify.budgeted import Recipient, queue_message
from cloud.notify.models import Notification
from cloud.notify.service import DROPPED, FAILED, QUEUED, SENT
from cloud.notify.templates import follow_up_text
from cloud.registry.models import Subject
from cloud.registry.scope import street_of_subject
from cloud.timeline.entries import SYSTEM_ACTOR, add_entry

_OPEN = frozenset(s.value for s in OPEN_STATUSES)


@dataclass(frozen=True, slots=True)
class LateStep:
    incident_id: int
    action: str
    due_at: int
    late_ms: int


async def start(*, session: AsyncSession, incident: Incident, policy: Policy, now_ms: int) -> None:
    """Give a new incident its escalation (timers counted from its cloud receipt)."""
    if await session.get(EscalationRecord, incident.id) is not None:
        return
    session.add(
        EscalationRecord(incident_id=incident.id, policy=policy.model_dump(mode="json"), opened_at=now_ms)
    )
    for timer in engine.start(policy, opened_ms=now_ms).pending:
        session.add(_row(incident.id, timer))
    await session.flush()


async def restart(*, session: AsyncSession, incident: Incident, policy: Policy, now_ms: int) -> None:
    """The incident became more urgent while unowned: its new policy's steps, counted from now."""
    record = await session.get(EscalationRecord, incident.id, with_for_update=True)
    if record is None:
        await start(session=session, incident=incident, policy=policy, now_ms=now_ms)
        return
    if record.stopped_at is not None:
        return
    await _cancel_timers(session, incident.id, kind=STEP)
    record.policy = policy.model_dump(mode="json")
    for timer in engine.start(policy, opened_ms=now_ms).pending:
        session.add(_row(incident.id, timer))
    await session.flush()


def _row(incident_id: int, timer: engine.Timer) -> EscalationTimer:
    return EscalationTimer(
        incident_id=incident_id,
        kind=STEP,
        step=timer.step,
        action=timer.action.value,
        round=timer.round,
        due_at=timer.due_ms,
        state=PENDING,
    )


async def _cancel_timers(session: AsyncSession, incident_id: int, *, kind: str | None = None) -> int:
    query = update(EscalationTimer).where(
        EscalationTimer.incident_id == incident_id, EscalationTimer.state == PENDING
    )
    if kind is not None:
        query = query.where(EscalationTimer.kind == kind)
    result = await session.execute(query.values(state=CANCELLED))
    return int(getattr(result, "rowcount", 0) or 0)


async def stop(
    *,
    session: AsyncSession,
    incident: Incident,
    by: str,
    reason: str,
    now_ms: int,
    effects: Effects,
    guardian_going: bool = False,
) -> bool:
    """A human owns the incident (claim, "I'm going", close): every pending step is dropped at once."""
    record = await session.get(EscalationRecord, incident.id, with_for_update=True)
    if record is None or record.stopped_at is not None:
        return False
    record.stopped_at, record.stopped_by = now_ms, by[:64]
    cancelled = await _cancel_timers(session, incident.id)
    await session.execute(  # an "alarm raised" text not yet sent is stale now
        update(Notification)
        .where(
            Notification.incident_id == incident.id,
            Notification.kind == "ladder",
            Notification.status == QUEUED,
        )
        .values(status=DROPPED)
    )
    if record.ladder_status == LadderStatus.RUNNING.value:
        record.ladder_status = (LadderStatus.GOING if guardian_going else LadderStatus.STOPPED).value
    add_entry(
        session,
        incident.id,
        at=now_ms,
        type_="escalation_stopped",
        actor=by,
        reason=reason,
        cancelled=cancelled,
    )
    effects.incidents.add(incident.id)
    await session.flush()
    return True


async def fire_due(*, session: AsyncSession, now_ms: int, effects: Effects, limit: int = 50) -> list[int]:
    """Fire every timer due at ``now_ms`` (of up to ``limit`` incidents); returns how late each was (ms).

    Locks are always taken in the same order as a claim takes them — the incident's escalation row,
    then its timers — so a claim and the scheduler never deadlock. ``SKIP LOCKED`` on the escalation
    row lets another worker (or a claim in progress) keep the incidents it holds.
    """
    due_incidents = (
        await session.scalars(
            select(EscalationTimer.incident_id)
            .where(EscalationTimer.state == PENDING, EscalationTimer.due_at <= now_ms)
            .group_by(EscalationTimer.incident_id)
            .order_by(func.min(EscalationTimer.due_at))
            .limit(limit)
        )
    ).all()
    lateness = []
    for incident_id in due_incidents:
        record = await session.scalar(
            select(EscalationRecord)
            .where(EscalationRecord.incident_id == incident_id)
            .with_for_update(skip_locked=True)
        )
        if record is None:
            continue
        timers = (
            await session.scalars(
                select(EscalationTimer)
                .where(
                    EscalationTimer.incident_id == incident_id,
                    EscalationTimer.state == PENDING,
                    EscalationTimer.due_at <= now_ms,
                )
                .order_by(EscalationTimer.due_at, EscalationTimer.id)
                .with_for_update()
            )
        ).all()
        incident = await session.get(Incident, incident_id)
        for timer in timers:
            lateness += await _fire_one(session, record, incident, timer, now_ms=now_ms, effects=effects)
    await session.flush()
    return lateness


async def _fire_one(
    session: AsyncSession,
    record: EscalationRecord,
    incident: Incident | None,
    timer: EscalationTimer,
    *,
    now_ms: int,
    effects: Effects,
) -> list[int]:
    if timer.state != PENDING:  # a ladder move earlier in this round cancelled it
        return []
    if incident is None or record.stopped_at is not None or incident.status not in _OPEN:
        timer.state = CANCELLED
        return []
    timer.state, timer.fired_at = FIRED, now_ms
    timer.late_ms = min(max(0, now_ms - timer.due_at), 2**31 - 1)
    policy = Policy.model_validate(record.policy)
    if timer.kind == STEP:
        await _fire_step(session, record, incident, timer, policy=policy, now_ms=now_ms, effects=effects)
    else:
        await ladder_steps.advance(
            session,
            record,
            incident,
            rung_index=timer.step,
            reason=Advance.NO_ANSWER,
            policy=policy,
            now_ms=now_ms,
            effects=effects,
        )
    return [timer.late_ms]


async def _fire_step(
    session: AsyncSession,
    record: EscalationRecord,
    incident: Incident,
    timer: EscalationTimer,
    *,
    policy: Policy,
    now_ms: int,
    effects: Effects,
) -> None:
    current = engine.Timer(
        step=timer.step, action=Action(timer.action), due_ms=timer.due_at, round=timer.round
    )
    firing = engine.fire(
        engine.Escalation(opened_ms=record.opened_at, pending=(current,)), policy, current, now_ms=now_ms
    )
    for repeat in firing.escalation.pending:
        session.add(_row(incident.id, repeat))
    if firing.action is None:
        return
    street = await street_of_subject(session=session, subject_id=incident.subject_id)
    effects.incidents.add(incident.id)
    if firing.action is Action.REALERT_CONSOLES:
        add_entry(
            session, incident.id, at=now_ms, type_="escalation_realert", actor=SYSTEM_ACTOR, round=timer.round
        )
        effects.live(
            REALERT, id=incident.id, street_id=street, reason="unclaimed", round=timer.round, owner=None
        )
    elif firing.action is Action.ALERT_SUPERVISOR:
        add_entry(
            session, incident.id, at=now_ms, type_="supervisor_alerted", actor=SYSTEM_ACTOR, round=timer.round
        )
        effects.live(ESCALATED, id=incident.id, street_id=street, reason="unclaimed", round=timer.round)
    elif firing.action is Action.START_LADDER:
        await ladder_steps.begin(session, record, incident, policy=policy, now_ms=now_ms, effects=effects)


async def advance_failed_rungs(*, session: AsyncSession, now_ms: int, effects: Effects) -> int:
    """Move every running ladder whose current message failed or was reported undelivered."""
    rows = (
        await session.execute(
            select(EscalationRecord, Notification)
            .join(Notification, Notification.id == EscalationRecord.ladder_notification_id)
            .where(
                EscalationRecord.ladder_status == LadderStatus.RUNNING.value,
                EscalationRecord.stopped_at.is_(None),
                (Notification.status == FAILED) | Notification.delivery_status.in_(("undelivered", "failed")),
            )
            .limit(50)
            .with_for_update(of=EscalationRecord, skip_locked=True)
        )
    ).all()
    moved = 0
    for record, _note in rows:
        incident = await session.get(Incident, record.incident_id)
        if incident is None or incident.status not in _OPEN:
            continue
        moved += await ladder_steps.advance(
            session,
            record,
            incident,
            rung_index=record.ladder_index,
            reason=Advance.UNDELIVERED,
            policy=Policy.model_validate(record.policy),
            now_ms=now_ms,
            effects=effects,
        )
    return moved


async def contact_declined(
    *, session: AsyncSession, incident: Incident, contact: str, now_ms: int, effects: Effects
) -> bool:
    """The contact of the current rung answered 2 ("can't — next contact"): the ladder moves on."""
    record = await session.get(EscalationRecord, incident.id, with_for_update=True)
    if record is None or record.stopped_at is not None:
        return False
    current = ladder_steps.ladder_of(record)
    if current is None or current.current is None or current.current.contact.key != contact:
        return False
    return await ladder_steps.advance(
        session,
        record,
        incident,
        rung_index=current.index,
        reason=Advance.DECLINED,
        policy=Policy.model_validate(record.policy),
        now_ms=now_ms,
        effects=effects,
    )


async def realert_owner(
    *, session: AsyncSession, incident: Incident, reason: str, now_ms: int, effects: Effects
) -> bool:
    """A repeat press or a guardian's message on an owned open incident: its owner's console sounds."""
    if incident.owner is None or incident.status not in _OPEN:
        return False
    street = await street_of_subject(session=session, subject_id=incident.subject_id)
    add_entry(
        session,
        incident.id,
        at=now_ms,
        type_="owner_realerted",
        actor=SYSTEM_ACTOR,
        reason=reason,
        owner=incident.owner,
    )
    effects.live(REALERT, id=incident.id, street_id=street, reason=reason, owner=incident.owner)
    effects.incidents.add(incident.id)
    return True


async def follow_up(
    *, session: AsyncSession, incident: Incident, closed: bool, now_ms: int, effects: Effects
) -> int:
    """Tell every contact the ladder reached that an operator took the incident, or that it is closed."""
    rows = await session.execute(
        select(Notification.contact, Notification.to_phone, Notification.language, Notification.guardian_id)
        .where(
            Notification.incident_id == incident.id,
            Notification.kind == "ladder",
            Notification.status == SENT,
        )
        .order_by(Notification.id)
    )
    subject = await session.get(Subject, incident.subject_id)
    masked = subject.masked_name if subject is not None else "**"
    seen: set[str] = set()
    for contact, phone, language, guardian_id in rows:
        if contact is None or contact in seen:
            continue
        seen.add(contact)
        await queue_message(
            session=session,
            incident_id=incident.id,
            recipient=Recipient(contact, phone, language, guardian_id),
            channel="sms",
            kind="followup",
            body=follow_up_text(language=language, masked_name=masked, closed=closed),
            masked_name=masked,
            now_ms=now_ms,
        )
    if seen:
        effects.queued = True
        add_entry(
            session,
            incident.id,
            at=now_ms,
            type_="follow_up_queued",
            actor=SYSTEM_ACTOR,
            closed=closed,
            count=len(seen),
        )
    return len(seen)


async def next_due_at(*, session: AsyncSession) -> int | None:
    return await session.scalar(
        select(func.min(EscalationTimer.due_at)).where(EscalationTimer.state == PENDING)
    )


async def late_steps(
    *, session: AsyncSession, now_ms: int, grace_ms: int, streets: frozenset[int] | None = None
) -> list[LateStep]:
    """Pending steps overdue by ``grace_ms`` or more (the scheduler is behind): the auditor's list."""
    query = in_streets(
        select(EscalationTimer.incident_id, EscalationTimer.action, EscalationTimer.due_at).join(
            Incident, Incident.id == EscalationTimer.incident_id
        ),
        streets,
    ).where(EscalationTimer.state == PENDING, EscalationTimer.due_at <= now_ms - grace_ms)
    rows = await session.execute(query.order_by(EscalationTimer.due_at).limit(500))
    return [LateStep(i, a, d, now_ms - d) for i, a, d in rows]
