"""Registry request and response bodies."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from cloud.phones import E164_RE
from contracts.care_plan import DEFAULT_CARE_PLAN, CarePlan
from contracts.ids import DeviceId, DeviceKind


class SubjectKind(StrEnum):
    ELDER = "elder"
    CHILD = "child"


class Relation(StrEnum):
    SON = "儿子"
    DAUGHTER = "女儿"
    SPOUSE = "配偶"
    GRANDSON = "孙子"
    GRANDDAUGHTER = "孙女"
    SIBLING = "兄弟姐妹"
    FATHER = "父亲"
    MOTHER = "母亲"
    GRANDPARENT = "祖父母"
    RELATIVE = "亲属"
    NEIGHBOUR = "邻居"
    GRID_WORKER = "网格员"
    SOCIAL_WORKER = "社工"
    OTHER = "其他"


def _e164(value: str) -> str:
    if not E164_RE.match(value):
        raise ValueError("phone must be in E.164 form, e.g. +8613800001234")
    return value


Phone = Annotated[str, AfterValidator(_e164)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SubjectIn(Strict):
    kind: SubjectKind = SubjectKind.ELDER
    display_name: Name
    birth_year: Annotated[int, Field(ge=1900, le=2100)]
    community_id: Annotated[int, Field(ge=1)]
    address: Annotated[str, Field(max_length=200)] = ""
    care_notes: Annotated[str, Field(max_length=2000)] = ""


class CommunityRef(BaseModel):
    id: int
    name: str
    street_id: int
    street: str


class SubjectOut(BaseModel):
    id: int
    kind: SubjectKind
    display_name: str
    masked_name: str
    birth_year: int
    community: CommunityRef
    address: str
    care_notes: str
    device_ids: list[str]


class SubjectSummary(BaseModel):
    """What incident views show: no full name, no address."""

    id: int
    kind: SubjectKind
    masked_name: str
    birth_year: int
    community: str
    street: str


class DeviceIn(Strict):
    device_id: DeviceId
    kind: DeviceKind
    subject_id: Annotated[int, Field(ge=1)]
    edge_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


class DeviceOut(BaseModel):
    device_id: str
    kind: DeviceKind
    subject_id: int
    edge_id: str


class DeviceCreated(DeviceOut):
    """A device just registered: ``mqtt_secret`` is its broker password, shown this once and never again
    (the center keeps only a hash). Load it into the device; ``anxin broker sync`` lets it log in."""

    mqtt_username: str
    mqtt_secret: str


class DeviceSecret(BaseModel):
    """A device's new broker password after a rotation (shown once; the old one stops at the next sync)."""

    device_id: str
    mqtt_username: str
    mqtt_secret: str


class EdgeDevice(BaseModel):
    """One row of an edge's registry snapshot (``care_plan`` added later: old gateways ignore it)."""

    device_id: str
    kind: DeviceKind
    subject_id: int
    care_plan: CarePlan = DEFAULT_CARE_PLAN


class GuardianIn(Strict):
    name: Name
    phone: Phone
    relation: Relation
    language: Annotated[str, Field(pattern=r"^(zh|en)$")] = "zh"
    priority: Annotated[int, Field(ge=1, le=99)] = 1


class GuardianOut(BaseModel):
    id: int
    subject_id: int
    name: str
    phone: str
    relation: str
    language: str
    priority: int


class CommunityOut(BaseModel):
    id: int
    name: str


class StreetOut(BaseModel):
    id: int
    code: str
    name_zh: str
    name_en: str
    communities: list[CommunityOut]


class CarePlanOut(CarePlan):
    """A subject's plan as the API answers it; ``updated_at`` is None while the defaults apply."""

    subject_id: int
    updated_at: int | None = None
