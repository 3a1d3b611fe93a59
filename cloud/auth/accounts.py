"""Staff accounts and sessions against the database. Functions flush; callers commit.

Password hashing is CPU-heavy on purpose: callers hash (``asyncio.to_thread``) before they call in here,
so no transaction is held open while argon2 runs.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.access import Role, Staff, scope_of
from cloud.auth.models import StaffAccount, StaffSession, StaffStreet
from cloud.errors import Conflict, InvalidInput, NotFound
from cloud.registry.models import Street


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def count_accounts(*, session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(StaffAccount)) or 0)


async def street_ids(*, session: AsyncSession, codes: Sequence[str]) -> list[int]:
    """The ids of streets given by code; an unknown code is a 422 on ``streets``."""
    if not codes:
        return []
    rows = dict((await session.execute(select(Street.code, Street.id).where(Street.code.in_(codes)))).all())
    unknown = [c for c in codes if c not in rows]
    if unknown:
        raise InvalidInput(f"unknown street code {unknown[0]!r}", field="streets")
    return [rows[c] for c in codes]


async def _set_streets(session: AsyncSession, account: StaffAccount, ids: Sequence[int]) -> None:
    await session.execute(delete(StaffStreet).where(StaffStreet.staff_id == account.id))
    for street_id in sorted(set(ids)):
        session.add(StaffStreet(staff_id=account.id, street_id=street_id))


async def create_account(
    *,
    session: AsyncSession,
    username: str,
    display_name: str,
    role: Role,
    password_hash: str,
    all_streets: bool,
    street_codes: Sequence[str],
    now_ms: int,
) -> StaffAccount:
    if not all_streets and not street_codes:
        raise InvalidInput("give at least one street, or all_streets", field="streets")
    if await find_account(session=session, username=username) is not None:
        raise Conflict("an account with this username exists", field="username")
    ids = await street_ids(session=session, codes=street_codes)
    account = StaffAccount(
        username=username,
        display_name=display_name,
        role=role.value,
        all_streets=all_streets,
        password_hash=password_hash,
        active=True,
        created_at=now_ms,
        updated_at=now_ms,
    )
    session.add(account)
    await session.flush()
    await _set_streets(session, account, [] if all_streets else ids)
    await session.flush()
    return account


async def update_account(
    *,
    session: AsyncSession,
    account_id: int,
    display_name: str | None,
    role: Role | None,
    password_hash: str | None,
    all_streets: bool | None,
    street_codes: Sequence[str] | None,
    active: bool | None,
    now_ms: int,
) -> StaffAccount:
    """Change an account; a new password, role, scope or deactivation ends its open sessions."""
    account = await session.get(StaffAccount, account_id, with_for_update=True)
    if account is None:
        raise NotFound(f"no account {account_id}", field="account_id")
    end_sessions = False
    if display_name is not None:
        account.display_name = display_name
    if role is not None and role.value != account.role:
        account.role, end_sessions = role.value, True
    if password_hash is not None:
        account.password_hash, end_sessions = password_hash, True
    if active is not None and active != account.active:
        account.active, end_sessions = active, end_sessions or not active
    if all_streets is not None or street_codes is not None:
        everywhere = account.all_streets if all_streets is None else all_streets
        codes = list(street_codes or [])
        if not everywhere and street_codes is None:
            codes = await codes_of(session=session, account_id=account.id)
        if not everywhere and not codes:
            raise InvalidInput("give at least one street, or all_streets", field="streets")
        ids = await street_ids(session=session, codes=codes)
        account.all_streets = everywhere
        await _set_streets(session, account, [] if everywhere else ids)
        end_sessions = True
    account.updated_at = now_ms
    if end_sessions:
        await revoke_all(session=session, staff_id=account.id, now_ms=now_ms)
    await session.flush()
    return account


async def find_account(*, session: AsyncSession, username: str) -> StaffAccount | None:
    return await session.scalar(
        select(StaffAccount).where(func.lower(StaffAccount.username) == username.strip().lower())
    )


async def codes_of(*, session: AsyncSession, account_id: int) -> list[str]:
    rows = await session.scalars(
        select(Street.code)
        .join(StaffStreet, StaffStreet.street_id == Street.id)
        .where(StaffStreet.staff_id == account_id)
        .order_by(Street.id)
    )
    return list(rows.all())


async def list_accounts(*, session: AsyncSession) -> list[StaffAccount]:
    return list((await session.scalars(select(StaffAccount).order_by(StaffAccount.id))).all())


async def staff_of(*, session: AsyncSession, account: StaffAccount, session_id: str = "") -> Staff:
    ids = await session.scalars(select(StaffStreet.street_id).where(StaffStreet.staff_id == account.id))
    return Staff(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=Role(account.role),
        streets=scope_of(account.all_streets, ids.all()),
        session_id=session_id,
    )


async def open_session(*, session: AsyncSession, account: StaffAccount, now_ms: int, ttl_ms: int) -> str:
    """A new login for ``account``; returns the token for the cookie (stored only as its hash)."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(id=token_id(token), staff_id=account.id, created_at=now_ms, expires_at=now_ms + ttl_ms)
    )
    await session.flush()
    return token


async def resolve_session(*, session: AsyncSession, token: str, now_ms: int) -> Staff | None:
    """The staff member of a live session (not expired, not revoked, account active); else None."""
    sid = token_id(token)
    row = (
        await session.execute(
            select(StaffSession, StaffAccount)
            .join(StaffAccount, StaffAccount.id == StaffSession.staff_id)
            .where(StaffSession.id == sid)
        )
    ).first()
    if row is None:
        return None
    record, account = row
    if record.revoked_at is not None or record.expires_at <= now_ms or not account.active:
        return None
    return await staff_of(session=session, account=account, session_id=sid)


async def session_alive(*, session: AsyncSession, session_id: str, now_ms: int) -> bool:
    row = (
        await session.execute(
            select(StaffSession.revoked_at, StaffSession.expires_at, StaffAccount.active)
            .join(StaffAccount, StaffAccount.id == StaffSession.staff_id)
            .where(StaffSession.id == session_id)
        )
    ).first()
    return row is not None and row[0] is None and row[1] > now_ms and bool(row[2])


async def revoke_session(*, session: AsyncSession, session_id: str, now_ms: int) -> None:
    await session.execute(
        update(StaffSession)
        .where(StaffSession.id == session_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now_ms)
    )


async def revoke_all(*, session: AsyncSession, staff_id: int, now_ms: int) -> None:
    await session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now_ms)
    )


async def usernames_with_role(*, session: AsyncSession, role: Role) -> list[str]:
    rows = await session.scalars(
        select(StaffAccount.username).where(StaffAccount.role == role.value, StaffAccount.active.is_(True))
    )
    return list(rows.all())
