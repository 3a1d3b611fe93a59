"""Operator login with a signed HttpOnly session cookie."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response

from cloud.auth.schemas import LoginRequest, OperatorOut
from cloud.auth.tokens import SESSION_TTL_S, tokens_equal
from cloud.deps import SESSION_COOKIE, OperatorDep, StateDep
from cloud.errors import NotAuthenticated, TooManyRequests
from cloud.state import OPERATOR_USERNAME

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/login")
async def login(body: LoginRequest, request: Request, response: Response, state: StateDep) -> OperatorOut:
    client = request.client.host if request.client else "unknown"
    now_ms = state.now_ms()
    if state.login_throttle.blocked(client, now_ms=now_ms):
        state.metrics.auth_failures.labels("throttled").inc()
        raise TooManyRequests("too many failed logins; try again in a few minutes")
    # check the password even for an unknown user, so both take the same time
    password_ok = state.operator_password.matches(body.password)
    if not (tokens_equal(body.username, OPERATOR_USERNAME) and password_ok):
        state.login_throttle.record_failure(client, now_ms=now_ms)
        state.metrics.auth_failures.labels("operator").inc()
        log.warning("auth.login_failed")
        raise NotAuthenticated("wrong username or password", field="password")
    state.login_throttle.reset(client)
    value = state.signer.sign(body.username, now_s=state.now_ms() // 1000)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
        path="/",
    )
    log.info("auth.login operator=%s", body.username)
    return OperatorOut(username=body.username)


@router.post("/logout", status_code=204)
async def logout(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


@router.get("/me")
async def me(operator: OperatorDep) -> OperatorOut:
    return OperatorOut(username=operator)
