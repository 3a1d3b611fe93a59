"""Guardians the edge texted itself while the center could not be reached (the edge's degraded mode).

The event names them (``EdgeEvent.edge_notified``); the center records that on the incident's timeline
(``guardians_notified_by_edge``, actor ``edge``, once per event) and never texts those guardians a second
time for it: each text becomes a ``notifications`` row of the incident (``contact="guardian:<id>"``,
channel ``sms``, status ``sent``, kind ``edge``), and the guardian ladder decides whom it has reached from
those rows alone (:func:`cloud.escalation.contacts.reached`), so it skips them. An alarm text to them
still queued for the incident (the event arrived twice, or joined an incident whose ladder already
queued one) is skipped. The rows also let a guardian's reply to the edge's text find the incident, and
make the edge's texts count towards the guardian's message budget. Functions flush, never commit.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.escalation.contacts import guardian_key
from cloud.escalation.models import EscalationRecord
from cloud.incidents.models import Incident
from cloud.notify.models import Notification
from cloud.notify.service import QUEUED, SENT, SKIPPED
from cloud.notify.templates import alert_text
from cloud.registry.models import Device, Guardian, Subject
from cloud.timeline.entries import EDGE_ACTOR, add_entry
from cloud.timeline.models import TimelineEntry
from contracts.guardians import EdgeNotice
from contracts.intake import EdgeEvent

ENTRY = "guardians_notified_by_edge"
EDGE_KIND = "edge"  # Notification.kind of a text the edge sent itself
ALARM_KINDS = ("alert", "ladder")  # queued texts that would tell the guardian the same news again


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
    # the ladder decides whom it has reached and queues its text under this row's lock: taking it here
    # orders the two, so its text is either queued before (and skipped below) or decided after these rows
    await session.get(EscalationRecord, incident.id, with_for_update=True)
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
    await _record_sent(session, incident, notices)
    queued = await session.scalars(
        select(Notification).where(
            Notification.incident_id == incident.id,
            Notification.status == QUEUED,
            Notification.guardian_id.in_(guardians),
            Notification.kind.in_(ALARM_KINDS),
        )
    )
    for note in queued:
        note.status = SKIPPED
        note.last_error = "texted by the edge"
    await session.flush()
    return True


async def _record_sent(session: AsyncSession, incident: Incident, notices: list[EdgeNotice]) -> None:
    """A sent ``notifications`` row per guardian of the incident's person the edge texted (once each)."""
    if incident.subject_id is None:  # an unassigned alarm: the edge knows no guardians for it
        return
    subject = await session.get(Subject, incident.subject_id)
    if subject is None:
        return
    rows = await session.scalars(
        select(Guardian).where(
            Guardian.subject_id == subject.id, Guardian.id.in_({n.guardian_id for n in notices})
        )
    )
    known = {g.id: g for g in rows}  # ids of other people's guardians are not this incident's contacts
    recorded = set(
        (
            await session.scalars(
                select(Notification.contact).where(
                    Notification.incident_id == incident.id, Notification.kind == EDGE_KIND
                )
            )
        ).all()
    )
    device = await session.get(Device, incident.device_id)
    for notice in sorted(notices, key=lambda n: (n.at_ms, n.guardian_id)):
        guardian = known.get(notice.guardian_id)
        contact = guardian_key(notice.guardian_id)
        if guardian is None or contact in recorded:
            continue
        recorded.add(contact)
        session.add(
            Notification(
                incident_id=incident.id,
                guardian_id=guardian.id,
                to_phone=guardian.phone,
                language=guardian.language,
                body=alert_text(
                    language=guardian.language,
                    masked_name=subject.masked_name,
                    device_kind=device.kind if device is not None else "",
                    incident_kind=incident.kind,
                    at_ms=incident.device_ts,
                ),
                status=SENT,
                attempts=1,
                next_attempt_at=notice.at_ms,
                created_at=notice.at_ms,
                sent_at=notice.at_ms,
                channel=notice.channel,
                kind=EDGE_KIND,
                contact=contact,
            )
        )
