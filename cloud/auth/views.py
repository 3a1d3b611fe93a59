"""Staff sign-in: a signed HttpOnly cookie naming a server-side session; logout revokes it."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request, Response

from cloud.auth import accounts
from cloud.auth.access import Staff
from cloud.auth.schemas import LoginRequest, OperatorOut
from cloud.auth.tokens import SESSION_TTL_S
from cloud.deps import SESSION_COOKIE, StaffDep, StateDep
from cloud.errors import NotAuthenticated, TooManyRequests

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/login")
async def login(body: LoginRequest, request: Request, response: Response, state: StateDep) -> OperatorOut:
    address = request.client.host if request.client else "unknown"
    now_ms = state.now_ms()
    blocked = state.login_guard.blocked(address=address, username=body.username, now_ms=now_ms)
    if blocked is not None:
        state.metrics.auth_failures.labels(f"throttled_{blocked}").inc()
        raise TooManyRequests("too many failed logins; try again in a few minutes")
    async with state.db.reads() as session:
        account = await accounts.find_account(session=session, username=body.username)
    encoded = account.password_hash if account is not None and account.active else None
    # an unknown or disabled account is checked against a dummy hash: both take the same time
    if not await asyncio.to_thread(state.passwords.verify, encoded, body.password) or account is None:
        state.login_guard.record_failure(address=address, username=body.username, now_ms=now_ms)
        state.metrics.auth_failures.labels("operator").inc()
        log.warning("auth.login_failed")
        raise NotAuthenticated("wrong username or password", field="password")
    state.login_guard.succeeded(address=address, username=body.username)
    async with state.db.sessions() as session:
        token = await accounts.open_session(
            session=session, account=account, now_ms=now_ms, ttl_ms=SESSION_TTL_S * 1000
        )
        staff = await accounts.staff_of(session=session, account=account)
        await session.commit()
    response.set_cookie(
        SESSION_COOKIE,
        state.signer.sign(token, now_s=now_ms // 1000),
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
        path="/",
    )
    log.info("auth.login staff_id=%d role=%s", account.id, account.role)
    return _me(staff)


@router.post("/logout", status_code=204)
async def logout(request: Request, response: Response, state: StateDep) -> None:
    """End the session on the server (the cookie stops working everywhere), then drop the cookie."""
    value = request.cookies.get(SESSION_COOKIE)
    token = state.signer.verify(value, now_s=state.now_ms() // 1000) if value else None
    if token is not None:
        async with state.db.sessions() as session:
            await accounts.revoke_session(
                session=session, session_id=accounts.token_id(token), now_ms=state.now_ms()
            )
            await session.commit()
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


@router.get("/me")
async def me(staff: StaffDep) -> OperatorOut:
    return _me(staff)


def _me(staff: Staff) -> OperatorOut:
    return OperatorOut(
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role,
        all_streets=staff.streets is None,
        street_ids=sorted(staff.streets or ()),
    )
