"""Timeline entries: every change to an incident, with who (actor) and when (epoch ms)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.incidents.models import Incident, TimelineEntry

DEVICE_ACTOR = "device"
EDGE_ACTOR = "edge"
SYSTEM_ACTOR = "system"


def add_entry(
    session: AsyncSession,
    incident: Incident,
    *,
    at: int,
    type_: str,
    actor: str,
    text: str = "",
    **data: object,
) -> None:
    session.add(TimelineEntry(incident_id=incident.id, at=at, type=type_, actor=actor, text=text, data=data))
