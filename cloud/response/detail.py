"""The incident detail an operator opens: the list item plus its timeline, evidence and SMS.

It gathers what other domains recorded about the incident (the edge events from ``cloud.intake``,
the guardians' SMS from ``cloud.notify``, the timeline), so it lives here, above them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.incidents.models import Incident
from cloud.incidents.presentation import incident_item
from cloud.incidents.schemas import EvidenceOut, IncidentDetail, NotificationOut, TimelineOut
from cloud.intake.models import EventRecord
from cloud.notify.models import Notification
from cloud.phones import display_phone
from cloud.timeline.entries import entries_of


def _evidence(evidence: Any, *, hide_place: bool) -> dict[str, Any] | None:
    """What an event carried; a hidden location (a child's) also hides the trail (``/reveal-place``)."""
    if not isinstance(evidence, dict):
        return None
    return {k: v for k, v in evidence.items() if k != "trail"} if hide_place else evidence


async def incident_detail(*, session: AsyncSession, incident: Incident) -> IncidentDetail:
    item = await incident_item(session=session, incident=incident)
    timeline = await entries_of(session=session, incident_id=incident.id)
    events = await session.scalars(
        select(EventRecord).where(EventRecord.incident_id == incident.id).order_by(EventRecord.id)
    )
    notes = await session.scalars(
        select(Notification).where(Notification.incident_id == incident.id).order_by(Notification.id)
    )
    return IncidentDetail(
        **item.model_dump(),
        timeline=[
            TimelineOut(id=t.id, at=t.at, type=t.type, actor=t.actor, text=t.text, data=t.data or {})
            for t in timeline
        ],
        evidence=[
            EvidenceOut(
                key=e.key,
                kind=e.kind,
                severity=e.severity,
                device_ts=e.device_ts,
                edge_ts=e.edge_ts,
                cloud_ts=e.cloud_ts,
                detail=e.payload.get("detail"),
                evidence=_evidence(e.payload.get("evidence"), hide_place=item.location_hidden),
            )
            for e in events
        ],
        notifications=[
            NotificationOut(
                id=n.id,
                to=display_phone(n.to_phone),
                language=n.language,
                status=n.status,
                attempts=n.attempts,
                sent_at=n.sent_at,
                delivery_status=n.delivery_status,
                delivery_updated_at=n.delivery_updated_at,
                channel=n.channel,
                kind=n.kind,
            )
            for n in notes
        ],
    )
