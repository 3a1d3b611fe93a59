"""Click-to-call from the console: the operator's phone rings, then the target (the person's device or
home phone, a guardian, a plan contact); the outcome lands on the incident's timeline.

The target is named by its reveal field (``phone:guardian_12``, ``phone:home``, ``phone:device``,
``phone:call_0`` …) and resolved here, at the center: the browser never gets the full number through
this path (a reveal is a separate, audited act). Functions flush; callers commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.access import Staff
from cloud.incidents.models import Incident
from cloud.phones import display_phone
from cloud.plans.service import phone_of
from cloud.timeline.entries import SYSTEM_ACTOR, add_entry
from cloud.timeline.models import TimelineEntry


class CallOutcome(StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no-answer"
    BUSY = "busy"
    FAILED = "failed"
    CANCELED = "canceled"


# Twilio's DialCallStatus / CallStatus words.
OUTCOME_OF = {
    "completed": CallOutcome.ANSWERED,
    "answered": CallOutcome.ANSWERED,
    "no-answer": CallOutcome.NO_ANSWER,
    "busy": CallOutcome.BUSY,
    "failed": CallOutcome.FAILED,
    "canceled": CallOutcome.CANCELED,
}
OUTCOME_TEXT = {
    CallOutcome.ANSWERED: "已接通 answered",
    CallOutcome.NO_ANSWER: "无人接听 no answer",
    CallOutcome.BUSY: "占线 busy",
    CallOutcome.FAILED: "呼叫失败 failed",
    CallOutcome.CANCELED: "已取消 canceled",
}


@dataclass(frozen=True, slots=True)
class CallTarget:
    field: str
    phone: str  # full: for the provider only

    @property
    def masked(self) -> str:
        return display_phone(self.phone)


async def target_of(*, session: AsyncSession, incident: Incident, field: str) -> CallTarget:
    return CallTarget(field=field, phone=await phone_of(session=session, incident=incident, field=field))


def record_placed(
    session: AsyncSession, *, incident: Incident, staff: Staff, target: CallTarget, call_id: str, now_ms: int
) -> None:
    incident.updated_at = now_ms
    add_entry(
        session,
        incident.id,
        at=now_ms,
        type_="call_bridged",
        actor=staff.username,
        text=f"致电 calling {target.masked}",
        field=target.field,
        call_id=call_id,
    )


async def record_outcome(
    session: AsyncSession,
    *,
    incident: Incident,
    field: str,
    by: str,
    call_id: str,
    outcome: CallOutcome,
    duration_s: int | None,
    leg: str,
    now_ms: int,
) -> bool:
    """How the call ended: ``leg`` is ``target`` (the person called) or ``operator`` (their own phone
    did not answer, so the target was never dialled). A callback Twilio repeats is recorded once;
    False if this one was already on the timeline."""
    entries = await session.scalars(
        select(TimelineEntry).where(
            TimelineEntry.incident_id == incident.id, TimelineEntry.type == "call_outcome"
        )
    )
    if any(e.data.get("call_id") == call_id and e.data.get("leg") == leg for e in entries):
        return False
    who = "值班电话 operator phone" if leg == "operator" else "通话 call"
    length = f", {duration_s} s" if duration_s is not None and outcome is CallOutcome.ANSWERED else ""
    incident.updated_at = now_ms
    add_entry(
        session,
        incident.id,
        at=now_ms,
        type_="call_outcome",
        actor=SYSTEM_ACTOR,
        text=f"{who}: {OUTCOME_TEXT[outcome]}{length}",
        field=field,
        by=by,
        call_id=call_id,
        result=outcome.value,  # not "outcome": that names how an incident was closed
        duration_s=duration_s,
        leg=leg,
    )
    return True
