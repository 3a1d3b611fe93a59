"""Typed FastAPI dependencies: the app state, a DB session, the clock, the signed-in staff member (and
their role) and the edge.

Every dependency is ``async def``, even the ones that never await: FastAPI runs a plain ``def`` dependency
in its thread pool, a thread hop per dependency per request (measured on the intake hot path)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth import accounts
from cloud.auth.access import Role, Staff
from cloud.auth.tokens import tokens_equal
from cloud.errors import Forbidden, NotAuthenticated, Unavailable
from cloud.state import CloudState

SESSION_COOKIE = "anxin_session"


async def get_state(request: Request) -> CloudState:
    state: CloudState | None = getattr(request.app.state, "cloud", None)
    if state is None:
        raise Unavailable("the service is starting or stopping")
    return state


StateDep = Annotated[CloudState, Depends(get_state)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    """A session per request. Routes commit once; anything uncommitted is rolled back on exit."""
    async with state.db.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_clock(state: StateDep) -> Callable[[], int]:
    return state.now_ms


ClockDep = Annotated[Callable[[], int], Depends(get_clock)]


async def current_staff(request: Request, state: StateDep) -> Staff:
    """The signed-in staff member: a signed cookie naming a live server-side session; 401 otherwise.

    The lookup uses :meth:`Database.reads`, so it never waits for (or holds) the request's unit of work.
    """
    cached: Staff | None = getattr(request.state, "staff", None)
    if cached is not None:
        return cached
    value = request.cookies.get(SESSION_COOKIE)
    now_ms = state.now_ms()
    token = state.signer.verify(value, now_s=now_ms // 1000) if value else None
    staff = None
    if token is not None:
        async with state.db.reads() as session:
            staff = await accounts.resolve_session(session=session, token=token, now_ms=now_ms)
    if staff is None:
        raise NotAuthenticated("log in first (POST /api/v1/auth/login)")
    request.state.staff = staff
    return staff


StaffDep = Annotated[Staff, Depends(current_staff)]


async def current_operator(staff: StaffDep) -> str:
    """The signed-in staff member's username (for routes that only need a name for the timeline)."""
    return staff.username


OperatorDep = Annotated[str, Depends(current_operator)]


def require(role: Role) -> Callable[[Staff], Coroutine[Any, Any, Staff]]:
    async def check(staff: StaffDep) -> Staff:
        if not staff.at_least(role):
            raise Forbidden(f"this needs the {role.value} role", field="role")
        return staff

    return check


SupervisorDep = Annotated[Staff, Depends(require(Role.SUPERVISOR))]
AdminDep = Annotated[Staff, Depends(require(Role.ADMIN))]


async def authenticated_edge(request: Request, state: StateDep) -> str:
    """The edge id whose bearer token the request carries; 401 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        state.metrics.auth_failures.labels("edge").inc()
        raise NotAuthenticated("edge bearer token required", field="authorization")
    found: str | None = None
    for edge_id, expected in state.settings.edge_tokens.items():
        if tokens_equal(token.strip(), expected.get_secret_value()):
            found = edge_id
    if found is None:
        state.metrics.auth_failures.labels("edge").inc()
        raise NotAuthenticated("unknown edge token", field="authorization")
    return found


EdgeDep = Annotated[str, Depends(authenticated_edge)]
