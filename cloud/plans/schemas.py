"""A resident's response plan: what the operator does for this person, in order, as a checklist.

It holds personal data (phone numbers, the key-safe holder, medical notes for the 120 crew), so it
stays at the center: the console shows numbers masked and the notes hidden until an operator in scope
reveals them (each reveal audited). ``escalation`` overrides the center's escalation policy for this
person, per severity.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from cloud.escalation.policy import Policy
from cloud.registry.schemas import Phone
from contracts.intake import Severity

Label = Annotated[str, Field(min_length=1, max_length=64)]
ItemId = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_\-]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PlanContact(Strict):
    label: Label  # 女儿, 邻居 李**, 网格员: how the operator knows whom they call
    phone: Phone


class ChecklistItem(Strict):
    id: ItemId
    label: Annotated[str, Field(min_length=1, max_length=120)]


class ResponsePlan(Strict):
    call_order: Annotated[list[PlanContact], Field(max_length=10)] = []
    key_safe_holder: PlanContact | None = None  # who holds the key (钥匙保管人)
    community_worker: PlanContact | None = None  # the nearest community worker
    home_phone: Phone | None = None  # the home's landline (家中座机): click-to-call, revealed as phone:home
    # the SIM number of a device (the watch or wearable can take a call), by device id: phone:device
    device_phones: Annotated[dict[Annotated[str, Field(max_length=64)], Phone], Field(max_length=10)] = {}
    medical_notes: Annotated[str, Field(max_length=2000)] = ""  # for the 120 crew
    extra_steps: Annotated[list[ChecklistItem], Field(max_length=20)] = []
    escalation: dict[Severity, Policy] = {}


class ChecklistOut(BaseModel):
    id: str
    label: str
    phone_masked: str | None = None
    reveal_field: str | None = None  # what to ask ``/reveal`` for to see the full value
    ticked_by: str | None = None
    ticked_at: int | None = None


class ResponsePlanOut(BaseModel):
    """The plan as an operator sees it: numbers masked, medical notes only said to exist."""

    subject_id: int
    checklist: list[ChecklistOut]
    has_medical_notes: bool
    escalation: dict[Severity, Policy]
    updated_at: int | None
    updated_by: str | None


class RevealIn(Strict):
    field: Annotated[str, Field(min_length=1, max_length=48, pattern=r"^[a-z_]+(:[a-z0-9_]+)*(:\d+)?$")]


class RevealOut(BaseModel):
    field: str
    value: str
    audit_id: int


class RevealAuditOut(BaseModel):
    id: int
    at: int
    username: str
    subject_id: int
    incident_id: int | None
    field: str
