"""The resident record on an incident, and a child's whereabouts behind the audited reveal."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from cloud.deps import ClockDep, SessionDep, StaffDep
from cloud.incidents.scope import visible_incident
from cloud.plans import service as plans
from cloud.response.record import ResidentRecord, RevealedPlace, fences_of, resident_record, trail_of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


@router.get("/{incident_id}/record")
async def get_record(incident_id: int, session: SessionDep, staff: StaffDep, now: ClockDep) -> ResidentRecord:
    """Who the incident is about: masked name, age, community, devices, guardians and their SMS state."""
    incident = await visible_incident(session=session, staff=staff, incident_id=incident_id)
    return await resident_record(session=session, incident=incident, now_ms=now())


@router.post("/{incident_id}/reveal-place")
async def reveal_place(
    incident_id: int, session: SessionDep, staff: StaffDep, now: ClockDep
) -> RevealedPlace:
    """A child's trail and fences for the map: audited like any reveal of the location."""
    incident = await visible_incident(session=session, staff=staff, incident_id=incident_id)
    _, record = await plans.reveal(
        session=session, incident=incident, staff=staff, field="location", now_ms=now()
    )
    await session.commit()
    log.info("reveal incident=%d field=place staff_id=%d", incident_id, staff.id)
    return RevealedPlace(
        audit_id=record.id,
        trail=await trail_of(session=session, incident_id=incident_id),
        fences=[]
        if incident.subject_id is None  # an unassigned alarm: no person, so no care-plan fences
        else await fences_of(session=session, subject_id=incident.subject_id),
    )
