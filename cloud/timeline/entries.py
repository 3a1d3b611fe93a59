"""Timeline entries: every change to an incident, with who (actor) and when (epoch ms).

Every domain notes its changes here (incidents, commands, notifications, guardian answers); this
package imports no other domain package, so all of them can import it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.timeline.models import TimelineEntry

DEVICE_ACTOR = "device"
EDGE_ACTOR = "edge"
SYSTEM_ACTOR = "system"


def add_entry(
    session: AsyncSession,
    incident_id: int,
    *,
    at: int,
    type_: str,
    actor: str,
    text: str = "",
    **data: object,
) -> None:
    """Append one entry to incident ``incident_id``'s timeline (added to the session, not flushed)."""
    session.add(TimelineEntry(incident_id=incident_id, at=at, type=type_, actor=actor, text=text, data=data))


async def entries_of(*, session: AsyncSession, incident_id: int) -> Sequence[TimelineEntry]:
    """The incident's timeline, oldest first."""
    rows = await session.scalars(
        select(TimelineEntry).where(TimelineEntry.incident_id == incident_id).order_by(TimelineEntry.id)
    )
    return rows.all()
