"""Typed FastAPI dependencies: the app state, a DB session, the clock, the operator and the edge."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.tokens import tokens_equal
from cloud.errors import NotAuthenticated, Unavailable
from cloud.state import CloudState

SESSION_COOKIE = "anxin_session"


def get_state(request: Request) -> CloudState:
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


def get_clock(state: StateDep) -> Callable[[], int]:
    return state.now_ms


ClockDep = Annotated[Callable[[], int], Depends(get_clock)]


def current_operator(request: Request, state: StateDep) -> str:
    """The logged-in operator's handle, from the signed session cookie; 401 otherwise."""
    value = request.cookies.get(SESSION_COOKIE)
    username = state.signer.verify(value, now_s=state.now_ms() // 1000) if value else None
    if username is None:
        raise NotAuthenticated("log in first (POST /api/v1/auth/login)")
    return username


OperatorDep = Annotated[str, Depends(current_operator)]


def authenticated_edge(request: Request, state: StateDep) -> str:
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
