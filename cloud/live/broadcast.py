"""After a commit: tell the operators' stream about an incident, and wake the edge's command stream."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.incidents.models import Incident
from cloud.incidents.presentation import incident_item
from cloud.incidents.schemas import IncidentItem
from cloud.live.hub import OPERATORS, LiveEvent, LiveHub, edge_channel

COMMANDS_WAKEUP = "commands"


async def announce_incident(
    *, session: AsyncSession, hub: LiveHub, incident: Incident, created: bool
) -> IncidentItem:
    item = await incident_item(session=session, incident=incident)
    name = "incident.created" if created else "incident.updated"
    hub.publish(OPERATORS, LiveEvent(name=name, data=item.model_dump(mode="json"), id=None))
    return item


def wake_edge(hub: LiveHub, edge_id: str) -> None:
    hub.publish(edge_channel(edge_id), LiveEvent(name=COMMANDS_WAKEUP, data={}))
