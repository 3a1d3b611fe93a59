"""``GET /api/v1/dev/sms``: what the console notifier "sent", per phone (the dev phone page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from cloud.deps import OperatorDep, SessionDep, StateDep
from cloud.errors import NotFound
from cloud.notify.service import console_messages

router = APIRouter(prefix="/api/v1/dev", tags=["dev"])


class SmsOut(BaseModel):
    id: str
    body: str
    sent_at: int


class PhoneOut(BaseModel):
    phone: str
    messages: list[SmsOut]


@router.get("/sms")
async def list_sms(
    session: SessionDep,
    state: StateDep,
    _op: OperatorDep,
    phone: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> list[PhoneOut]:
    """Messages newest first, grouped by recipient (only with the console notifier)."""
    if state.settings.notifier != "console":
        raise NotFound("the dev SMS log exists only with the console notifier")
    phones: dict[str, list[SmsOut]] = {}
    for sms in await console_messages(session=session, limit=limit):
        if phone is None or sms.to_phone == phone:
            phones.setdefault(sms.to_phone, []).append(
                SmsOut(id=sms.message_id, body=sms.body, sent_at=sms.sent_at)
            )
    return [PhoneOut(phone=p, messages=m) for p, m in phones.items()]
