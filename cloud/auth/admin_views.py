"""Account management (admins) and the staff list (everyone signed in, to hand incidents over)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth import accounts
from cloud.auth.models import StaffAccount
from cloud.auth.schemas import AccountIn, AccountOut, AccountPatch, StaffOut
from cloud.deps import AdminDep, ClockDep, SessionDep, StaffDep, StateDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["accounts"])


async def _codes(session: AsyncSession, account: StaffAccount) -> list[str]:
    return await accounts.codes_of(session=session, account_id=account.id)


async def _out(session: AsyncSession, account: StaffAccount) -> AccountOut:
    return AccountOut(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        all_streets=account.all_streets,
        streets=[] if account.all_streets else await _codes(session, account),
        active=account.active,
        created_at=account.created_at,
        updated_at=account.updated_at,
    )


@router.get("/admin/accounts")
async def list_accounts(session: SessionDep, _admin: AdminDep) -> list[AccountOut]:
    return [await _out(session, a) for a in await accounts.list_accounts(session=session)]


@router.post("/admin/accounts", status_code=201)
async def create_account(
    body: AccountIn, state: StateDep, session: SessionDep, now: ClockDep, admin: AdminDep
) -> AccountOut:
    password_hash = await asyncio.to_thread(state.passwords.hash, body.password)
    account = await accounts.create_account(
        session=session,
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        password_hash=password_hash,
        all_streets=body.all_streets,
        street_codes=body.streets,
        now_ms=now(),
    )
    out = await _out(session, account)
    await session.commit()
    log.info("staff.created id=%d role=%s by=%s", account.id, account.role, admin.username)
    return out


@router.patch("/admin/accounts/{account_id}")
async def update_account(
    account_id: int,
    body: AccountPatch,
    *,
    state: StateDep,
    session: SessionDep,
    now: ClockDep,
    admin: AdminDep,
) -> AccountOut:
    password_hash = None
    if body.password is not None:
        password_hash = await asyncio.to_thread(state.passwords.hash, body.password)
    account = await accounts.update_account(
        session=session,
        account_id=account_id,
        display_name=body.display_name,
        role=body.role,
        password_hash=password_hash,
        all_streets=body.all_streets,
        street_codes=body.streets,
        active=body.active,
        now_ms=now(),
    )
    out = await _out(session, account)
    await session.commit()
    log.info("staff.updated id=%d by=%s", account.id, admin.username)
    return out


@router.get("/staff")
async def list_staff(session: SessionDep, _staff: StaffDep) -> list[StaffOut]:
    return [
        StaffOut(username=a.username, display_name=a.display_name, role=a.role)
        for a in await accounts.list_accounts(session=session)
        if a.active
    ]
