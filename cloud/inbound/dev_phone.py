"""The dev phone page's API (console notifier only, operators only).

``GET /api/v1/dev/sms``: what the console notifier "sent", and what the developer answered, per
guardian. Numbers leave the server masked (``+86 136****7230``); ``guardian_id`` is the key to group by.
``POST /api/v1/dev/sms/reply``: answer as that guardian — the same domain path as a Twilio inbound SMS.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from cloud.deps import SessionDep, StaffDep, StateDep
from cloud.errors import NotFound
from cloud.inbound import replies
from cloud.inbound.flow import process_reply
from cloud.inbound.service import phone_of_guardian
from cloud.metrics import NotifyMetrics
from cloud.notify.metrics import notify_metrics
from cloud.notify.models import GuardianReply
from cloud.notify.port import NotifierError
from cloud.notify.service import console_messages, guardian_ids_by_phone, street_of_phone, streets_by_phone
from cloud.phones import display_phone
from cloud.registry.models import Guardian
from cloud.state import CloudState

log = logging.getLogger(__name__)

ANSWER_TIMEOUT_S = 5.0

router = APIRouter(prefix="/api/v1/dev", tags=["dev"])


class SmsOut(BaseModel):
    id: str
    body: str
    sent_at: int
    direction: Literal["out", "in"] = "out"  # out: center -> guardian; in: the guardian's answer


class PhoneOut(BaseModel):
    guardian_id: int | None
    to_masked: str
    messages: list[SmsOut]


def require_console_notifier(state: CloudState) -> None:
    if state.settings.notifier != "console":
        raise NotFound("the dev phone endpoints exist only with the console notifier")


@router.get("/sms")
async def list_sms(
    session: SessionDep,
    state: StateDep,
    staff: StaffDep,
    guardian_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> list[PhoneOut]:
    """Messages newest first, grouped by recipient (only with the console notifier)."""
    require_console_notifier(state)
    ids = await guardian_ids_by_phone(session=session)
    streets = await streets_by_phone(session=session)
    phones: dict[str, PhoneOut] = {}
    for sms in await console_messages(session=session, limit=limit):
        owner = ids.get(sms.to_phone)
        if guardian_id is not None and owner != guardian_id:
            continue
        if not staff.sees_street(streets.get(sms.to_phone)):
            continue
        phone = phones.get(sms.to_phone)
        if phone is None:
            phone = phones[sms.to_phone] = PhoneOut(
                guardian_id=owner, to_masked=display_phone(sms.to_phone), messages=[]
            )
        phone.messages.append(SmsOut(id=sms.message_id, body=sms.body, sent_at=sms.sent_at))
    answers = await session.execute(
        select(GuardianReply, Guardian.phone)
        .join(Guardian, Guardian.id == GuardianReply.guardian_id)
        .where(GuardianReply.channel == "console")
        .order_by(GuardianReply.id.desc())
        .limit(limit)
    )
    for reply, to_phone in answers:
        phone = phones.get(to_phone)
        if phone is not None:  # only phones that got a message show up
            phone.messages.append(
                SmsOut(
                    id=reply.provider_message_id, body=reply.body, sent_at=reply.received_at, direction="in"
                )
            )
    for phone in phones.values():
        phone.messages.sort(key=lambda m: m.sent_at, reverse=True)
    return list(phones.values())


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    guardian_id: Annotated[int, Field(ge=1)]
    text: Annotated[str, Field(min_length=1, max_length=1600)]
    message_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,48}$")] | None = None


class ReplyOut(BaseModel):
    result: replies.ReplyResult
    incident_id: int | None
    duplicate: bool
    answer: str  # the confirmation "sent" back to the phone


@router.post("/sms/reply")
async def reply_as_guardian(
    body: ReplyIn,
    state: StateDep,
    staff: StaffDep,
    metrics: Annotated[NotifyMetrics, Depends(notify_metrics)],
) -> ReplyOut:
    """Answer an SMS as the guardian (dev phone page): handled exactly like a Twilio inbound SMS."""
    require_console_notifier(state)
    async with state.db.sessions() as session:
        phone = await phone_of_guardian(session=session, guardian_id=body.guardian_id)
        street = await street_of_phone(session=session, phone=phone) if phone is not None else None
    if phone is None or not staff.sees_street(street):
        raise NotFound(f"no guardian {body.guardian_id}", field="guardian_id")
    message_id = f"console-in-{body.message_id or uuid.uuid4().hex}"
    outcome = await process_reply(
        state, metrics, provider_message_id=message_id, channel="console", from_phone=phone, text=body.text
    )
    answer = replies.answer_text(outcome.result, outcome.language)
    if not outcome.duplicate:
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                await state.notifier.send_sms(to=phone, body=answer)
        except (NotifierError, TimeoutError) as exc:  # the answer is a courtesy; the reply is stored
            log.warning("guardian.answer_failed guardian=%d error=%s", body.guardian_id, type(exc).__name__)
    return ReplyOut(
        result=outcome.result, incident_id=outcome.incident_id, duplicate=outcome.duplicate, answer=answer
    )
