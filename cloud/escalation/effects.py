"""What an escalation step asks for after its transaction commits: live events, incident updates on the
operators' stream, a wake-up for the outbox. Collected while the step runs, published after commit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.incidents.models import Incident
from cloud.live.broadcast import announce_incident
from cloud.live.hub import OPERATORS, LiveEvent, LiveHub

REALERT = "incident.realert"  # consoles in scope sound again (data: id, street_id, reason, owner)
ESCALATED = "incident.escalated"  # supervisors alerted (data: id, street_id, reason)


@dataclass
class Effects:
    events: list[LiveEvent] = field(default_factory=list)
    incidents: set[int] = field(default_factory=set)
    queued: bool = False

    def live(self, name: str, **data: Any) -> None:
        self.events.append(LiveEvent(name=name, data=data))

    def __bool__(self) -> bool:
        return bool(self.events or self.incidents or self.queued)

    async def publish(self, *, session: AsyncSession, hub: LiveHub, outbox_wakeup: asyncio.Event) -> None:
        """After commit: announce the changed incidents, send the live events, wake the outbox."""
        for incident_id in sorted(self.incidents):
            incident = await session.get(Incident, incident_id)
            if incident is not None:
                await announce_incident(session=session, hub=hub, incident=incident, created=False)
        for event in self.events:
            hub.publish(OPERATORS, event)
        if self.queued:
            outbox_wakeup.set()
