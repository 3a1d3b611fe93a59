"""The guardian ladder against the database: start it, move it, queue each rung's message.

The pure rules are in :mod:`cloud.escalation.ladder`; this module stores the ladder on the incident's
escalation row, queues each rung's SMS or call through the budgeted outbox, schedules the rung's answer
wait as a persisted timer and writes every step on the timeline. Functions flush; callers commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.escalation import ladder
from cloud.escalation.contacts import contacts_of, reached
from cloud.escalation.effects import ESCALATED, Effects
from cloud.escalation.ladder import Advance, Channel, Contact, ContactRole, Ladder, LadderStatus, Move, Rung
from cloud.escalation.models import CANCELLED, LADDER, PENDING, EscalationRecord, EscalationTimer
from cloud.escalation.policy import Policy
from cloud.incidents.models import Incident
from cloud.notify.budgeted import Recipient, queue_message
from cloud.notify.templates import alert_text, drill_marked, voice_text
from cloud.registry.models import Device, Subject
from cloud.registry.scope import street_of_subject
from cloud.timeline.entries import SYSTEM_ACTOR, add_entry

WAIT_ACTION = "ladder_wait"
CHANNEL_TEXT = {Channel.SMS: "短信 SMS", Channel.VOICE: "语音 voice call"}
ADVANCE_TEXT = {
    Advance.NO_ANSWER: "无应答 no answer",
    Advance.DECLINED: "无法前往 cannot go",
    Advance.UNDELIVERED: "未送达 not delivered",
}


def _rung_json(rung: Rung) -> dict[str, Any]:
    c = rung.contact
    return {
        "key": c.key,
        "role": c.role.value,
        "phone": c.phone,
        "language": c.language,
        "label": c.label,
        "channel": rung.channel.value,
    }


def ladder_of(record: EscalationRecord) -> Ladder | None:
    if record.ladder is None:
        return None
    rungs = tuple(
        Rung(
            index=i,
            contact=Contact(r["key"], ContactRole(r["role"]), r["phone"], r["language"], r["label"]),
            channel=Channel(r["channel"]),
        )
        for i, r in enumerate(record.ladder)
    )
    return Ladder(
        rungs=rungs, index=record.ladder_index, status=LadderStatus(record.ladder_status or "running")
    )


def _guardian_id(contact: Contact) -> int | None:
    kind, _, number = contact.key.partition(":")
    return int(number) if kind == "guardian" and number.isdigit() else None


async def _message(session: AsyncSession, incident: Incident, rung: Rung) -> tuple[str, str]:
    """The rung's text (SMS or call script) and the masked name it uses."""
    subject = await session.get(Subject, incident.subject_id)
    device = await session.get(Device, incident.device_id)
    masked = subject.masked_name if subject is not None else "**"
    render = voice_text if rung.channel is Channel.VOICE else alert_text
    text = render(
        language=rung.contact.language,
        masked_name=masked,
        device_kind=device.kind if device is not None else "",
        incident_kind=incident.kind,
        at_ms=incident.device_ts,
    )
    return (drill_marked(text, rung.contact.language) if incident.drill else text), masked


async def apply_move(
    session: AsyncSession,
    record: EscalationRecord,
    incident: Incident,
    move: Move,
    *,
    policy: Policy,
    now_ms: int,
    effects: Effects,
) -> None:
    """Store the ladder after ``move``; contact its rung, or report that the ladder is exhausted."""
    record.ladder_index = move.ladder.index
    record.ladder_status = move.ladder.status.value
    effects.incidents.add(incident.id)
    for skipped in move.skipped:
        add_entry(
            session,
            incident.id,
            at=now_ms,
            type_="ladder_skipped",
            actor=SYSTEM_ACTOR,
            text=f"{skipped.contact.label} {CHANNEL_TEXT[skipped.channel]}: 已通知 already reached",
            contact=skipped.contact.key,
            channel=skipped.channel.value,
            rung=skipped.index,
        )
    rung = move.rung
    if rung is None:
        if move.ladder.status is LadderStatus.EXHAUSTED:
            record.ladder_notification_id = None
            add_entry(session, incident.id, at=now_ms, type_="ladder_exhausted", actor=SYSTEM_ACTOR)
            street = await street_of_subject(session=session, subject_id=incident.subject_id)
            effects.live(ESCALATED, id=incident.id, street_id=street, reason="ladder_exhausted")
        return
    body, masked = await _message(session, incident, rung)
    note = await queue_message(
        session=session,
        incident_id=incident.id,
        recipient=Recipient(
            rung.contact.key, rung.contact.phone, rung.contact.language, _guardian_id(rung.contact)
        ),
        channel=rung.channel.value,
        kind="ladder",
        body=body,
        masked_name=masked,
        now_ms=now_ms,
    )
    record.ladder_notification_id = note.id
    session.add(
        EscalationTimer(
            incident_id=incident.id,
            kind=LADDER,
            step=rung.index,
            action=WAIT_ACTION,
            round=0,
            due_at=now_ms + round(policy.ladder_wait_s * 1000),
            state=PENDING,
        )
    )
    add_entry(
        session,
        incident.id,
        at=now_ms,
        type_="ladder_contact",
        actor=SYSTEM_ACTOR,
        text=f"{rung.contact.label} {CHANNEL_TEXT[rung.channel]}",
        contact=rung.contact.key,
        channel=rung.channel.value,
        rung=rung.index,
        notification_id=note.id,
        merged=note.status == "merged",
    )
    effects.queued = True
    await session.flush()


async def begin(
    session: AsyncSession,
    record: EscalationRecord,
    incident: Incident,
    *,
    policy: Policy,
    now_ms: int,
    effects: Effects,
) -> None:
    """Start the ladder once: contacts from the registry, rungs already reached skipped."""
    if record.ladder is not None:
        return
    subject = await session.get(Subject, incident.subject_id)
    contacts = await contacts_of(session=session, subject=subject) if subject is not None else ()
    built = ladder.build(contacts)
    record.ladder = [_rung_json(r) for r in built.rungs]
    add_entry(
        session,
        incident.id,
        at=now_ms,
        type_="ladder_started",
        actor=SYSTEM_ACTOR,
        contacts=len(contacts),
        family=any(c.role is ContactRole.GUARDIAN for c in contacts),
    )
    move = ladder.begin(built, now_ms=now_ms, reached=await reached(session=session, incident_id=incident.id))
    await apply_move(session, record, incident, move, policy=policy, now_ms=now_ms, effects=effects)


async def advance(
    session: AsyncSession,
    record: EscalationRecord,
    incident: Incident,
    *,
    rung_index: int,
    reason: Advance,
    policy: Policy,
    now_ms: int,
    effects: Effects,
) -> bool:
    """End rung ``rung_index`` for ``reason`` and contact the next one; False for stale news."""
    current = ladder_of(record)
    if current is None:
        return False
    move = ladder.advance(
        current,
        rung_index=rung_index,
        reason=reason,
        now_ms=now_ms,
        reached=await reached(session=session, incident_id=incident.id),
    )
    if move.ladder is current:
        return False
    left = current.rungs[rung_index]
    await session.execute(
        update(EscalationTimer)
        .where(
            EscalationTimer.incident_id == incident.id,
            EscalationTimer.kind == LADDER,
            EscalationTimer.step == rung_index,
            EscalationTimer.state == PENDING,
        )
        .values(state=CANCELLED)
    )
    add_entry(
        session,
        incident.id,
        at=now_ms,
        type_="ladder_next",
        actor=SYSTEM_ACTOR,
        text=f"{left.contact.label} {CHANNEL_TEXT[left.channel]}: {ADVANCE_TEXT[reason]}",
        contact=left.contact.key,
        channel=left.channel.value,
        rung=rung_index,
        reason=reason.value,
    )
    await apply_move(session, record, incident, move, policy=policy, now_ms=now_ms, effects=effects)
    return True
