"""Report rows from the database: incidents of a period in the caller's streets, drills left out."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.incidents.models import Incident
from cloud.registry.models import Community, Device, Street, Subject
from cloud.reports.figures import IncidentRow


async def incident_rows(
    *,
    session: AsyncSession,
    since_ms: int,
    until_ms: int,
    streets: frozenset[int] | None,
    limit: int = 100_000,
) -> list[IncidentRow]:
    query = (
        select(Incident, Street.code, Device.kind)
        .join(Subject, Subject.id == Incident.subject_id)
        .join(Community, Community.id == Subject.community_id)
        .join(Street, Street.id == Community.street_id)
        .outerjoin(Device, Device.device_id == Incident.device_id)
        .where(Incident.cloud_ts >= since_ms, Incident.cloud_ts < until_ms, Incident.drill.is_(False))
        .order_by(Incident.cloud_ts, Incident.id)
        .limit(limit)
    )
    if streets is not None:
        query = query.where(Community.street_id.in_(sorted(streets)))
    return [
        IncidentRow(
            id=i.id,
            street=code,
            kind=i.kind,
            severity=i.severity,
            status=i.status,
            outcome=i.outcome,
            device_kind=device_kind or "unknown",
            device_ts=i.device_ts,
            cloud_ts=i.cloud_ts,
            acknowledged_at=i.acknowledged_at,
            guardian_answered_at=i.guardian_answered_at,
            dispatched_at=i.dispatched_at,
            resolved_at=i.resolved_at,
        )
        for i, code, device_kind in await session.execute(query)
    ]
