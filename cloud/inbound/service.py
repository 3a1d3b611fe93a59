"""Inbound SMS answers and delivery status callbacks, against the database.

Both the Twilio webhooks and the dev phone page's reply box call :func:`handle_reply`: one domain path.
Functions flush and never commit (the request commits once).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.escalation import service as escalation
from cloud.escalation.contacts import WORKER_LABEL
from cloud.escalation.effects import Effects
from cloud.escalation.ladder import ContactRole
from cloud.inbound import delivery, replies
from cloud.inbound.replies import ReplyResult
from cloud.incidents.lifecycle import OPEN_STATUSES
from cloud.incidents.models import Incident
from cloud.notify.models import GuardianReply, Notification
from cloud.phones import display_phone
from cloud.registry.models import CaseWorker, Guardian
from cloud.timeline.entries import SYSTEM_ACTOR, add_entry

DELIVERY_TEXT = {
    delivery.DeliveryStatus.QUEUED: "短信排队中 SMS queued",
    delivery.DeliveryStatus.SENT: "短信已发出 SMS sent",
    delivery.DeliveryStatus.DELIVERED: "短信已送达 SMS delivered",
    delivery.DeliveryStatus.UNDELIVERED: "短信未送达 SMS undelivered",
    delivery.DeliveryStatus.FAILED: "短信发送失败 SMS failed",
}
CALL_TEXT = {
    delivery.DeliveryStatus.QUEUED: "语音呼叫中 call ringing",
    delivery.DeliveryStatus.SENT: "语音已接通 call answered",
    delivery.DeliveryStatus.DELIVERED: "语音已按键应答 call answered on the keypad",
    delivery.DeliveryStatus.UNDELIVERED: "语音未获应答 call not answered",
    delivery.DeliveryStatus.FAILED: "语音呼叫失败 call failed",
}


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    result: ReplyResult
    language: str | None  # the guardian's, None for an unknown sender
    incident_id: int | None = None
    duplicate: bool = False
    effects: Effects = field(default_factory=Effects)  # publish after commit


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    incident_id: int
    notification_id: int
    status: delivery.DeliveryStatus


async def _open_notification(
    session: AsyncSession, guardian_ids: list[int]
) -> tuple[Notification, Incident] | None:
    """The most recent notification to one of ``guardian_ids`` whose incident is still open."""
    row = (
        await session.execute(
            select(Notification, Incident)
            .join(Incident, Incident.id == Notification.incident_id)
            .where(
                Notification.guardian_id.in_(guardian_ids),
                Incident.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def _open_incident_of(
    session: AsyncSession, guardians: list[Guardian]
) -> tuple[Guardian, Incident] | None:
    """Not texted (yet): the most recent open incident of a person the sender is a guardian of."""
    row = (
        await session.execute(
            select(Guardian, Incident)
            .join(Incident, Incident.subject_id == Guardian.subject_id)
            .where(
                Guardian.id.in_([g.id for g in guardians]),
                Incident.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .order_by(Incident.cloud_ts.desc(), Incident.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def _case_worker_reply(
    session: AsyncSession, *, from_phone: str, text: str, channel: str, now_ms: int
) -> ReplyOutcome | None:
    """A case worker (网格员, 儿童主任) the ladder texted answers: the same meaning as a guardian's answer.

    Matched to the most recent ladder message to that number whose incident is still open; None when
    there is none (the caller then answers as to an unknown number). Not stored as a ``GuardianReply``
    (that table is for guardians): a repeated delivery only repeats harmless, idempotent steps.
    """
    row = (
        await session.execute(
            select(Notification, Incident)
            .join(Incident, Incident.id == Notification.incident_id)
            .where(
                Notification.to_phone == from_phone,
                Notification.contact.like("worker:%"),
                Incident.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    note, incident = row
    worker = await session.get(CaseWorker, int(str(note.contact).split(":", 1)[1]))
    label = WORKER_LABEL.get(ContactRole(worker.role), "社工") if worker is not None else "社工"
    decision = replies.decide(
        text=text,
        known_guardian=True,
        has_open_incident=True,
        already_answered=incident.guardian_answered_at is not None,
    )
    if decision.set_answered_at:
        incident.guardian_answered_at = now_ms
    incident.updated_at = now_ms
    add_entry(
        session,
        incident.id,
        at=now_ms,
        type_=decision.timeline_type or "guardian_message",
        actor=label,
        text=decision.text,
        contact=note.contact,
        notification_id=note.id,
        channel=channel,
    )
    effects = await _act_on(
        session, incident, decision.result, contact=str(note.contact), by=label, now_ms=now_ms
    )
    await session.flush()
    return ReplyOutcome(decision.result, note.language, incident.id, effects=effects)


async def _act_on(
    session: AsyncSession, incident: Incident, result: ReplyResult, *, contact: str, by: str, now_ms: int
) -> Effects:
    """What an answer does to the escalation: "1" stops it, "2" moves the ladder, a message re-alerts."""
    effects = Effects()
    if result is ReplyResult.ACKNOWLEDGED:  # "I'm going": a human owns it, every step stops
        await escalation.stop(
            session=session,
            incident=incident,
            by=by,
            reason="guardian_going",
            now_ms=now_ms,
            effects=effects,
            guardian_going=True,
        )
    elif result is ReplyResult.DECLINED:
        await escalation.contact_declined(
            session=session, incident=incident, contact=contact, now_ms=now_ms, effects=effects
        )
    elif result is ReplyResult.MESSAGE:
        await escalation.realert_owner(
            session=session, incident=incident, reason="guardian_message", now_ms=now_ms, effects=effects
        )
    return effects


async def handle_reply(
    *,
    session: AsyncSession,
    provider_message_id: str,
    channel: str,
    from_phone: str,
    text: str,
    now_ms: int,
) -> ReplyOutcome:
    """Apply one guardian answer. Idempotent on ``provider_message_id``."""
    seen = await session.scalar(
        select(GuardianReply).where(GuardianReply.provider_message_id == provider_message_id)
    )
    if seen is not None:
        guardian = await session.get(Guardian, seen.guardian_id)
        language = guardian.language if guardian is not None else None
        return ReplyOutcome(ReplyResult(seen.result), language, seen.incident_id, duplicate=True)
    guardians = list((await session.scalars(select(Guardian).where(Guardian.phone == from_phone))).all())
    if not guardians:
        worker = await _case_worker_reply(
            session, from_phone=from_phone, text=text, channel=channel, now_ms=now_ms
        )
        if worker is not None:
            return worker
    found = await _open_notification(session, [g.id for g in guardians]) if guardians else None
    incident = found[1] if found is not None else None
    fallback = await _open_incident_of(session, guardians) if found is None and guardians else None
    if fallback is not None:
        incident = fallback[1]
    decision = replies.decide(
        text=text,
        known_guardian=bool(guardians),
        has_open_incident=incident is not None,
        already_answered=incident is not None and incident.guardian_answered_at is not None,
    )
    if incident is None or decision.timeline_type is None:
        return ReplyOutcome(decision.result, guardians[0].language if guardians else None)
    note = found[0] if found is not None else None
    if note is not None:
        guardian = next(g for g in guardians if g.id == note.guardian_id)
    else:
        assert fallback is not None
        guardian = fallback[0]
    if decision.set_answered_at:
        incident.guardian_answered_at = now_ms
    incident.updated_at = now_ms
    add_entry(
        session,
        incident.id,
        at=now_ms,
        type_=decision.timeline_type,
        actor=guardian.relation,  # 女儿, 儿子 …: never the name or the number
        text=decision.text,
        guardian_id=guardian.id,
        notification_id=note.id if note is not None else None,
        channel=channel,
    )
    session.add(
        GuardianReply(
            provider_message_id=provider_message_id,
            channel=channel,
            guardian_id=guardian.id,
            incident_id=incident.id,
            result=decision.result.value,
            body=replies.capped(text),
            received_at=now_ms,
        )
    )
    contact = (note.contact if note is not None else None) or f"guardian:{guardian.id}"
    effects = await _act_on(
        session, incident, decision.result, contact=contact, by=guardian.relation, now_ms=now_ms
    )
    await session.flush()
    return ReplyOutcome(decision.result, guardian.language, incident.id, effects=effects)


async def record_delivery(
    *,
    session: AsyncSession,
    provider_id: str,
    reported: delivery.DeliveryStatus,
    error_code: str,
    now_ms: int,
) -> DeliveryUpdate | None:
    """Store a status callback on its notification (and the incident's timeline) if it moves it forward.

    None when no notification has that provider id, or the status is a repeat or arrived late.
    """
    note = await session.scalar(select(Notification).where(Notification.provider_id == provider_id))
    if note is None:
        return None
    status = delivery.advance(note.delivery_status, reported)
    if status is None:
        return None
    note.delivery_status = status.value
    note.delivery_updated_at = now_ms
    if delivery.is_failure(status) and error_code:
        note.last_error = f"provider error {error_code}"[:200]
    incident = await session.get(Incident, note.incident_id)
    if incident is not None:
        voice = note.channel == "voice"
        detail = f" ({error_code})" if voice and error_code else ""
        incident.updated_at = now_ms
        add_entry(
            session,
            incident.id,
            at=now_ms,
            type_="call_status" if voice else "sms_status",
            actor=SYSTEM_ACTOR,
            text=f"{(CALL_TEXT if voice else DELIVERY_TEXT)[status]}{detail} {display_phone(note.to_phone)}",
            notification_id=note.id,
            status=status.value,
            error_code=error_code or None,
        )
    await session.flush()
    return DeliveryUpdate(incident_id=note.incident_id, notification_id=note.id, status=status)


async def voice_note(*, session: AsyncSession, call_sid: str, to_phone: str) -> Notification | None:
    """The ladder call Twilio is connecting: by its call sid, or (when Twilio asks for the script
    before the outbox recorded the sid) the newest voice message to that number on an open incident."""
    note = await session.scalar(
        select(Notification).where(Notification.provider_id == call_sid, Notification.channel == "voice")
    )
    if note is not None:
        return note
    return await session.scalar(
        select(Notification)
        .join(Incident, Incident.id == Notification.incident_id)
        .where(
            Notification.to_phone == to_phone,
            Notification.channel == "voice",
            Notification.provider_id.is_(None),
            Incident.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .order_by(Notification.id.desc())
        .limit(1)
    )


async def phone_of_guardian(*, session: AsyncSession, guardian_id: int) -> str | None:
    guardian = await session.get(Guardian, guardian_id)
    return guardian.phone if guardian is not None else None
