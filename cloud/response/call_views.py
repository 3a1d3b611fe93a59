"""``POST /api/v1/incidents/{id}/calls``: click-to-call from the resident record (operators in scope)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from cloud.deps import ClockDep, SessionDep, StaffDep, StateDep
from cloud.errors import InvalidInput, Unavailable
from cloud.incidents.scope import visible_incident
from cloud.notify.port import NotifierError
from cloud.response import calls
from cloud.state import CloudState

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: Annotated[str, Field(pattern=r"^phone:[a-z0-9_]+$", max_length=48)]  # a reveal field


class CallOut(BaseModel):
    call_id: str
    target: str
    to_masked: str  # never the full number: that is an audited reveal


def operator_phone(state: CloudState, username: str) -> str:
    """The staff member's own phone if configured, else the center's line."""
    phone = state.settings.staff_phones.get(username) or state.settings.center_line
    if not phone:
        raise InvalidInput(
            "no phone to ring for this operator (ANXIN_CLOUD_STAFF_PHONES or ANXIN_CLOUD_CENTER_LINE)",
            field="target",
        )
    return phone


@router.post("/{incident_id}/calls", status_code=202)
async def place_call(
    incident_id: int, body: CallIn, *, session: SessionDep, staff: StaffDep, state: StateDep, now: ClockDep
) -> CallOut:
    """Ring the operator's phone, then connect it to ``target``; the outcome follows on the timeline."""
    incident = await visible_incident(session=session, staff=staff, incident_id=incident_id)
    target = await calls.target_of(session=session, incident=incident, field=body.target)
    await session.rollback()  # no transaction is held across the provider's answer
    if state.dialer is None:
        raise Unavailable("no voice provider is configured")
    ring = operator_phone(state, staff.username)
    params = {"incident": str(incident_id), "target": body.target, "by": staff.username}
    try:
        async with asyncio.timeout(state.settings.notify_timeout_s):
            call_id = await state.dialer.bridge(operator_phone=ring, params=params)
    except (NotifierError, TimeoutError) as exc:
        log.warning("call.bridge_failed incident=%d error=%s", incident_id, type(exc).__name__)
        raise Unavailable("the call could not be placed") from exc
    incident = await visible_incident(session=session, staff=staff, incident_id=incident_id)
    calls.record_placed(session, incident=incident, staff=staff, target=target, call_id=call_id, now_ms=now())
    await session.commit()
    log.info("call.bridged incident=%d target=%s staff_id=%d", incident_id, body.target, staff.id)
    return CallOut(call_id=call_id, target=body.target, to_masked=target.masked)
