"""Device feedback: when an SOS or fall incident is acknowledged or closed, queue the downlink that
tells the device (on its edge's command stream), and note it on the incident's timeline.

Functions flush and never commit (the caller's unit of work commits).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.commands.service import queue_command
from cloud.incidents import lifecycle
from cloud.incidents.lifecycle import IncidentKind
from cloud.incidents.models import Incident
from cloud.timeline.entries import SYSTEM_ACTOR, add_entry
from contracts.downlink import AlarmClosed, OperatorAcknowledged


async def tell_acknowledged(
    session: AsyncSession, incident: Incident, *, operator: str, eta_min: int | None, now_ms: int
) -> None:
    """Tell the device "help is coming": for incidents the person raised on it (SOS, fall) only."""
    if not lifecycle.wants_device_feedback(IncidentKind(incident.kind)):
        return
    downlink = OperatorAcknowledged(
        device_id=incident.device_id,
        ts=now_ms,
        ref_seq=incident.origin_seq,
        incident_key=incident.origin_key,
        operator=operator[:32],
        eta_min=eta_min,
    )
    await _tell_device(session, incident, downlink, now_ms)


async def tell_closed(session: AsyncSession, incident: Incident, *, now_ms: int) -> None:
    """The alarm is over (resolved, cancelled, false alarm): for SOS and fall incidents only."""
    if not lifecycle.wants_device_feedback(IncidentKind(incident.kind)):
        return
    downlink = AlarmClosed(
        device_id=incident.device_id,
        ts=now_ms,
        ref_seq=incident.origin_seq,
        incident_key=incident.origin_key,
        outcome=(incident.outcome or incident.status)[:32],
    )
    await _tell_device(session, incident, downlink, now_ms)


async def _tell_device(
    session: AsyncSession, incident: Incident, downlink: OperatorAcknowledged | AlarmClosed, now_ms: int
) -> None:
    """Queue ``downlink`` for the incident's device on its edge's command stream, on the timeline too."""
    command = await queue_command(
        session=session,
        edge_id=incident.edge_id,
        device_id=incident.device_id,
        downlink=downlink,
        incident_id=incident.id,
        now_ms=now_ms,
    )
    add_entry(
        session,
        incident.id,
        at=now_ms,
        type_="command_queued",
        actor=SYSTEM_ACTOR,
        command_id=command.id,
        downlink=downlink.type,
    )
