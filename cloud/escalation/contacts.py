"""The ladder's contacts from the registry, and who was already reached (from the notification records).

"Already reached" is a function of the ``notifications`` rows of the incident alone (contact key and
channel, not failed, not merged into a summary): anything that records a message it sent there — the
outbox, or the edge's texts in degraded mode reported to the center — makes the ladder skip that rung.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.escalation.ladder import Contact, ContactRole
from cloud.notify.models import Notification
from cloud.notify.service import DROPPED, FAILED, MERGED
from cloud.registry.models import CaseWorker, Guardian, Subject

UNDELIVERED = ("undelivered", "failed")  # provider delivery reports that mean "did not arrive"
WORKER_LABEL = {ContactRole.GRID_WORKER: "网格员", ContactRole.CHILDREN_DIRECTOR: "儿童主任"}
WORKER_RELATIONS = frozenset({"网格员", "社工"})  # guardians rows that are really case workers


def guardian_key(guardian_id: int) -> str:
    return f"guardian:{guardian_id}"


def worker_key(worker_id: int) -> str:
    return f"worker:{worker_id}"


async def guardians_of(*, session: AsyncSession, subject_id: int) -> list[Contact]:
    rows = await session.scalars(
        select(Guardian).where(Guardian.subject_id == subject_id).order_by(Guardian.priority, Guardian.id)
    )
    return [
        Contact(
            key=guardian_key(g.id),
            role=ContactRole.GRID_WORKER if g.relation in WORKER_RELATIONS else ContactRole.GUARDIAN,
            phone=g.phone,
            language=g.language,
            label=g.relation,
        )
        for g in rows
    ]


async def case_workers_of(*, session: AsyncSession, community_id: int) -> list[Contact]:
    rows = await session.scalars(
        select(CaseWorker).where(CaseWorker.community_id == community_id).order_by(CaseWorker.id)
    )
    return [
        Contact(
            key=worker_key(w.id),
            role=ContactRole(w.role),
            phone=w.phone,
            language=w.language,
            label=WORKER_LABEL.get(ContactRole(w.role), w.role),
        )
        for w in rows
    ]


async def contacts_of(*, session: AsyncSession, subject: Subject) -> tuple[Contact, ...]:
    """Family guardians first (a grid worker already listed as a guardian comes after the family);
    for a person without family, the community's case workers of the right kind."""
    listed = await guardians_of(session=session, subject_id=subject.id)
    family = [c for c in listed if c.role is ContactRole.GUARDIAN]
    if family:
        return (*family, *(c for c in listed if c.role is not ContactRole.GUARDIAN))
    workers = await case_workers_of(session=session, community_id=subject.community_id)
    wanted = ContactRole.CHILDREN_DIRECTOR if subject.kind == "child" else ContactRole.GRID_WORKER
    return (*listed, *(w for w in workers if w.role is wanted))


async def reached(*, session: AsyncSession, incident_id: int) -> set[tuple[str, str]]:
    """``(contact key, channel)`` pairs this incident already has a live message for."""
    rows = await session.execute(
        select(Notification.contact, Notification.channel).where(
            Notification.incident_id == incident_id,
            Notification.contact.is_not(None),
            Notification.status.not_in((FAILED, MERGED, DROPPED)),
            or_(
                Notification.delivery_status.is_(None),
                Notification.delivery_status.not_in(UNDELIVERED),
            ),
        )
    )
    return {(str(contact), str(channel)) for contact, channel in rows}
