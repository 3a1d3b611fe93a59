"""Who owns an incident, and the optimistic check that keeps two operators from overwriting each other.

A claim (acknowledge) makes the operator the owner. Every operator action may carry the ``version`` the
operator's screen showed; if the incident changed since, the action is refused with 409 and a message
that says who has it now, instead of silently overwriting. Only the owner (or a supervisor) acts on an
owned incident; the owner hands it over, a supervisor reassigns it. Functions flush; callers commit.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth import accounts
from cloud.auth.access import Role, Staff
from cloud.errors import Conflict, InvalidInput
from cloud.incidents.lifecycle import OPEN_STATUSES, Status
from cloud.incidents.models import Incident
from cloud.registry.scope import street_of_subject
from cloud.timeline.entries import add_entry


class VersionConflict(Conflict):
    code = "version_conflict"


class OwnedByOther(Conflict):
    code = "owned_by_other"


def _who(incident: Incident) -> str:
    return incident.owner or "-"


def check_version(incident: Incident, expected: int | None) -> None:
    """409 when the operator acted on a stale view of the incident."""
    if expected is not None and expected != incident.version:
        raise VersionConflict(
            f"incident {incident.id} changed since you loaded it (now {incident.status}, owner "
            f"{_who(incident)}); reload it and try again / 警情已被他人更新，请刷新后重试",
            field="version",
        )


def check_claimable(incident: Incident) -> None:
    if incident.status != Status.NEW.value and incident.owner is not None:
        raise OwnedByOther(
            f"incident {incident.id} is already claimed by {incident.owner} / 已被 {incident.owner} 认领",
            field="owner",
        )


def check_owner(incident: Incident, staff: Staff) -> None:
    """Only the owner, or a supervisor, acts on an owned incident."""
    if incident.owner is None or incident.owner == staff.username or staff.at_least(Role.SUPERVISOR):
        return
    raise OwnedByOther(
        f"incident {incident.id} is owned by {incident.owner}; ask them to hand it over or a supervisor "
        f"to reassign it / 该警情由 {incident.owner} 负责",
        field="owner",
    )


def bump(incident: Incident) -> None:
    incident.version += 1


async def _assignee(session: AsyncSession, incident: Incident, username: str) -> Staff:
    account = await accounts.find_account(session=session, username=username)
    if account is None or not account.active:
        raise InvalidInput("no active account with this username", field="to")
    target = await accounts.staff_of(session=session, account=account)
    street = await street_of_subject(session=session, subject_id=incident.subject_id)
    if not target.sees_street(street):
        raise InvalidInput(f"{target.username} does not cover this street", field="to")
    return target


async def assign(
    *, session: AsyncSession, incident: Incident, staff: Staff, to: str, now_ms: int, handover: bool = False
) -> Incident:
    """Give ``incident`` to ``to``: a supervisor reassigns any open incident, the owner hands over theirs."""
    if incident.status not in {s.value for s in OPEN_STATUSES}:
        raise Conflict("only open incidents change hands", field="status")
    if not staff.at_least(Role.SUPERVISOR) and incident.owner != staff.username:
        raise OwnedByOther(
            f"only the owner ({_who(incident)}) or a supervisor can hand this incident over", field="owner"
        )
    target = await _assignee(session, incident, to)
    before = incident.owner
    incident.owner = target.username
    incident.updated_at = now_ms
    bump(incident)
    add_entry(
        session,
        incident.id,
        at=now_ms,
        type_="handed_over" if handover else "reassigned",
        actor=staff.username,
        text=f"{before or '-'} → {target.username}",
        previous=before,
        owner=target.username,
    )
    await session.flush()
    return incident


async def open_owned_by(*, session: AsyncSession, username: str) -> list[Incident]:
    rows = await session.scalars(
        select(Incident)
        .where(Incident.owner == username, Incident.status.in_([s.value for s in OPEN_STATUSES]))
        .order_by(Incident.id)
        .with_for_update(key_share=True)
    )
    return list(rows.all())
