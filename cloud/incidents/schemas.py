"""Incident request and response bodies. Subjects appear only as a masked summary."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from cloud.incidents.lifecycle import Outcome, Status
from cloud.registry.schemas import SubjectSummary
from contracts.intake import Severity


class StatusFilter(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    ALL = "all"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Version = Annotated[int, Field(ge=1)]


class Versioned(Strict):
    """``version``: the incident version the operator's screen showed; a stale one is answered 409."""

    version: Version | None = None


class AcknowledgeIn(Versioned):
    eta_min: Annotated[int, Field(ge=0, le=24 * 60)] | None = None


class DispatchIn(Versioned):
    responder: Annotated[str, Field(max_length=64)] | None = None


class ResolveIn(Versioned):
    outcome: Outcome


class NoteIn(Versioned):
    text: Annotated[str, Field(min_length=1, max_length=2000)]


class AssignIn(Versioned):
    to: Annotated[str, Field(min_length=1, max_length=32)]


class HandoverIn(Strict):
    to: Annotated[str, Field(min_length=1, max_length=32)]


class HandoverOut(BaseModel):
    to: str
    incident_ids: list[int]


class LocationOut(BaseModel):
    lat: float
    lon: float
    accuracy_m: float | None
    source: str | None
    at: int | None


class IncidentItem(BaseModel):
    """One incident as listed, and as sent on the live stream (``incident.created/updated``)."""

    id: int
    kind: str
    origin_kind: str  # the event kind that opened it (e.g. geofence_exit), for exact labels
    last_event_kind: str  # the latest event that joined it
    severity: Severity
    status: Status
    outcome: str | None
    subject: SubjectSummary
    device_id: str
    edge_id: str
    origin_key: str
    device_ts: int
    edge_ts: int
    cloud_ts: int
    acknowledged_at: int | None
    dispatched_at: int | None
    resolved_at: int | None
    guardian_answered_at: int | None
    updated_at: int
    acknowledged_by: str | None
    owner: str | None  # who has it now (claim, reassignment, hand-over)
    version: int  # send it back with an action: a stale one is answered 409
    drill: bool  # a drill: runs end to end, kept out of the figures
    responder: str | None
    eta_min: int | None
    event_count: int
    last_location: LocationOut | None
    location_hidden: bool = False  # a child's location: ask POST /incidents/{id}/reveal {"field": "location"}


class TimelineOut(BaseModel):
    id: int
    at: int
    type: str
    actor: str
    text: str
    data: dict[str, Any]


class EvidenceOut(BaseModel):
    key: str
    kind: str
    severity: str
    device_ts: int
    edge_ts: int
    cloud_ts: int
    detail: str | None
    evidence: dict[str, Any] | None


class NotificationOut(BaseModel):
    id: int
    to: str  # masked
    language: str
    status: str
    attempts: int
    sent_at: int | None
    delivery_status: str | None  # from the provider's status callbacks
    delivery_updated_at: int | None


class IncidentDetail(IncidentItem):
    timeline: list[TimelineOut]
    evidence: list[EvidenceOut]
    notifications: list[NotificationOut]
