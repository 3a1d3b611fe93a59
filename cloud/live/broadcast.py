"""After a commit: tell the operators' stream about an incident, and wake the edge's command stream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db import Database
from cloud.incidents.models import Incident
from cloud.incidents.presentation import incident_item, incident_items
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


async def present_incidents(
    *, session: AsyncSession, changed: Sequence[tuple[Incident, bool]]
) -> list[tuple[IncidentItem, bool]]:
    """The operators' view of changed incidents (``(incident, created)``), one query for their subjects;
    read inside the writing transaction, published after its commit (:func:`publish_incidents`)."""
    items = await incident_items(session=session, incidents=[incident for incident, _ in changed])
    return [(item, created) for item, (_, created) in zip(items, changed, strict=True)]


def publish_incidents(hub: LiveHub, presented: Sequence[tuple[IncidentItem, bool]]) -> None:
    for item, created in presented:
        name = "incident.created" if created else "incident.updated"
        hub.publish(OPERATORS, LiveEvent(name=name, data=item.model_dump(mode="json"), id=None))


async def load_incident_event(db: Database, incident_id: int) -> dict[str, Any] | None:
    """The data of an ``incident.*`` live event as it is now (None: the incident is gone), for an event
    another worker relayed by reference (cloud/live/relay.py)."""
    async with db.reads() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            return None
        item = await incident_item(session=session, incident=incident)
    return item.model_dump(mode="json")
