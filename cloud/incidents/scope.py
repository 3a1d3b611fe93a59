"""Street scope on incidents: a staff member sees only incidents of people living in their streets.

Anything outside the scope does not exist for them (404, like an unknown id), so ids cannot be probed.
Functions flush nothing and never commit.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.access import Staff
from cloud.errors import NotFound
from cloud.incidents.models import ROW_LOCK, Incident
from cloud.registry.models import Community, Subject
from cloud.registry.scope import street_of_subject

SelectT = TypeVar("SelectT", bound="Select[*tuple[Any, ...]]")


def in_streets(query: SelectT, streets: frozenset[int] | None) -> SelectT:
    """Restrict a query over :class:`Incident` to subjects living in ``streets`` (None: no restriction)."""
    if streets is None:
        return query
    return (
        query.join(Subject, Subject.id == Incident.subject_id)
        .join(Community, Community.id == Subject.community_id)
        .where(Community.street_id.in_(sorted(streets)))
    )


async def visible_incident(
    *, session: AsyncSession, staff: Staff, incident_id: int, for_update: bool = False
) -> Incident:
    """The incident if ``staff`` may see it (row-locked when ``for_update``); NotFound otherwise."""
    incident = await session.get(Incident, incident_id, with_for_update=ROW_LOCK if for_update else None)
    if incident is None or not staff.sees_street(
        await street_of_subject(session=session, subject_id=incident.subject_id)
    ):
        raise NotFound(f"no incident {incident_id}", field="incident_id")
    return incident


def event_street(data: dict[str, Any]) -> int | None:
    """The street a live event is about: ``street_id`` or ``subject.street_id`` in its data."""
    street = data.get("street_id")
    if street is None and isinstance(data.get("subject"), dict):
        street = data["subject"].get("street_id")
    return street if isinstance(street, int) else None
