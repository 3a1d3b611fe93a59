"""``GET /api/v1/dev/sms``: what the console notifier "sent", per guardian (the dev phone page).

Numbers leave the server masked (``+86 136****7230``); ``guardian_id`` is the key to group by.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from cloud.deps import OperatorDep, SessionDep, StateDep
from cloud.errors import NotFound
from cloud.notify.port import display_phone
from cloud.notify.service import console_messages, guardian_ids_by_phone
from cloud.state import CloudState

router = APIRouter(prefix="/api/v1/dev", tags=["dev"])


class SmsOut(BaseModel):
    id: str
    body: str
    sent_at: int


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
    _op: OperatorDep,
    guardian_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> list[PhoneOut]:
    """Messages newest first, grouped by recipient (only with the console notifier)."""
    require_console_notifier(state)
    ids = await guardian_ids_by_phone(session=session)
    phones: dict[str, PhoneOut] = {}
    for sms in await console_messages(session=session, limit=limit):
        owner = ids.get(sms.to_phone)
        if guardian_id is not None and owner != guardian_id:
            continue
        phone = phones.get(sms.to_phone)
        if phone is None:
            phone = phones[sms.to_phone] = PhoneOut(
                guardian_id=owner, to_masked=display_phone(sms.to_phone), messages=[]
            )
        phone.messages.append(SmsOut(id=sms.message_id, body=sms.body, sent_at=sms.sent_at))
    return list(phones.values())
