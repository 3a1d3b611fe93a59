"""Build the list-item shape of incidents from the tables (the detail is ``cloud.response.detail``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from cloud.incidents.lifecycle import Status
from cloud.incidents.models import Incident
from cloud.incidents.schemas import IncidentItem, LocationOut
from cloud.registry.models import Community, Subject
from cloud.registry.schemas import SubjectKind, SubjectSummary
from contracts.intake import Severity


def _summary(subject: Subject) -> SubjectSummary:
    return SubjectSummary(
        id=subject.id,
        kind=SubjectKind(subject.kind),
        masked_name=subject.masked_name,
        birth_year=subject.birth_year,
        community=subject.community.name_zh,
        street=subject.community.street.name_zh,
        street_id=subject.community.street_id,
    )


def _item(incident: Incident, subject: Subject) -> IncidentItem:
    location = None
    # a child's position is shown only after an explicit, audited reveal (POST …/reveal "location")
    hidden = subject.kind == SubjectKind.CHILD.value and incident.last_lat is not None
    if incident.last_lat is not None and incident.last_lon is not None and not hidden:
        location = LocationOut(
            lat=incident.last_lat,
            lon=incident.last_lon,
            accuracy_m=incident.last_accuracy_m,
            source=incident.last_fix_source,
            at=incident.last_fix_at,
        )
    return IncidentItem(
        id=incident.id,
        kind=incident.kind,
        origin_kind=incident.origin_kind or incident.kind,
        last_event_kind=incident.last_event_kind or incident.origin_kind or incident.kind,
        severity=Severity(incident.severity),
        status=Status(incident.status),
        outcome=incident.outcome,
        subject=_summary(subject),
        device_id=incident.device_id,
        edge_id=incident.edge_id,
        origin_key=incident.origin_key,
        device_ts=incident.device_ts,
        edge_ts=incident.edge_ts,
        cloud_ts=incident.cloud_ts,
        acknowledged_at=incident.acknowledged_at,
        dispatched_at=incident.dispatched_at,
        resolved_at=incident.resolved_at,
        guardian_answered_at=incident.guardian_answered_at,
        updated_at=incident.updated_at,
        acknowledged_by=incident.acknowledged_by,
        owner=incident.owner,
        version=incident.version,
        drill=incident.drill,
        responder=incident.responder,
        eta_min=incident.eta_min,
        event_count=incident.event_count,
        last_location=location,
        location_hidden=hidden,
    )


async def _subjects(session: AsyncSession, ids: set[int]) -> dict[int, Subject]:
    if not ids:
        return {}
    rows = await session.scalars(
        select(Subject)
        .where(Subject.id.in_(ids))
        .options(joinedload(Subject.community).joinedload(Community.street))
    )
    return {s.id: s for s in rows}


async def incident_items(*, session: AsyncSession, incidents: Sequence[Incident]) -> list[IncidentItem]:
    subjects = await _subjects(session, {i.subject_id for i in incidents})
    return [_item(i, subjects[i.subject_id]) for i in incidents]


async def incident_item(*, session: AsyncSession, incident: Incident) -> IncidentItem:
    return (await incident_items(session=session, incidents=[incident]))[0]
