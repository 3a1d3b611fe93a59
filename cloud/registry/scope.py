"""Street scope on the registry: which street a person lives in, and 404 outside a staff member's streets.

``streets`` is a staff member's scope: a set of street ids, or None for every street.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.errors import NotFound
from cloud.registry.models import Community, Subject


def sees(streets: frozenset[int] | None, street_id: int | None) -> bool:
    return streets is None or (street_id is not None and street_id in streets)


async def street_of_subject(*, session: AsyncSession, subject_id: int) -> int | None:
    return await session.scalar(
        select(Community.street_id)
        .join(Subject, Subject.community_id == Community.id)
        .where(Subject.id == subject_id)
    )


async def check_subject_visible(
    *, session: AsyncSession, streets: frozenset[int] | None, subject_id: int
) -> None:
    """NotFound unless the subject exists and lives in ``streets``."""
    street = await street_of_subject(session=session, subject_id=subject_id)
    if street is None or not sees(streets, street):
        raise NotFound(f"no subject {subject_id}", field="subject_id")
