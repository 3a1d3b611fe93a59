"""Guardians the edge texted itself while the center could not be reached (the edge's degraded mode).

The event names them (``EdgeEvent.edge_notified``); the center records that on the incident's timeline
(``guardians_notified_by_edge``, actor ``edge``, once per event) and never texts those guardians a second
time for it: they are left out when the alert SMS are queued, and an SMS to them still queued for the
incident (the event arrived twice, or joined an incident whose alerts are not sent yet) is skipped.
Functions flush, never commit.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.incidents.models import Incident
from cloud.notify.models import Notification
from cloud.notify.service import QUEUED, SKIPPED
from cloud.timeline.entries import EDGE_ACTOR, add_entry
from cloud.timeline.models import TimelineEntry
from contracts.intake import EdgeEvent

ENTRY = "guardians_notified_by_edge"


def texted_by_edge(event: EdgeEvent) -> frozenset[int]:
    return frozenset(notice.guardian_id for notice in event.edge_notified or ())


async def record_edge_notices(*, session: AsyncSession, incident: Incident, event: EdgeEvent) -> bool:
    """Note on ``incident`` which guardians the edge texted for ``event``; True if anything changed."""
    guardians = texted_by_edge(event)
    if not guardians:
        return False
    entries = await session.scalars(
        select(TimelineEntry).where(TimelineEntry.incident_id == incident.id, TimelineEntry.type == ENTRY)
    )
    if any(entry.data.get("key") == event.key for entry in entries):
        return False
    notices = event.edge_notified or []
    add_entry(
        session,
        incident.id,
        at=min(n.at_ms for n in notices),
        type_=ENTRY,
        actor=EDGE_ACTOR,
        key=event.key,
        guardian_ids=sorted(guardians),
        count=len(guardians),
    )
    queued = await session.scalars(
        select(Notification).where(
            Notification.incident_id == incident.id,
            Notification.status == QUEUED,
            Notification.guardian_id.in_(guardians),
        )
    )
    for note in queued:
        note.status = SKIPPED
        note.last_error = "texted by the edge"
    await session.flush()
    return True
