"""``GET /api/v1/stream``: the operators' live stream (SSE).

Events: ``incident.created`` / ``incident.updated`` (data = the incident list item) and ``sms.sent``
(for the dev phone page). A keepalive comment every ``sse_keepalive_s`` (15 s by default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from starlette.responses import StreamingResponse

from cloud.auth import accounts
from cloud.auth.access import Staff
from cloud.deps import StaffDep, StateDep
from cloud.incidents.scope import event_street
from cloud.live.hub import OPERATORS, LiveEvent, StreamClosed
from cloud.live.sse import KEEPALIVE, sse_event, sse_response
from cloud.state import CloudState

router = APIRouter(prefix="/api/v1", tags=["live"])

CONNECTED = b"retry: 2000\n: connected\n\n"


@router.get("/stream", response_class=StreamingResponse)
async def live_stream(state: StateDep, staff: StaffDep) -> StreamingResponse:
    """Only events about the caller's streets; the stream ends when the session is revoked."""
    return sse_response(_frames(state, staff))


def _visible(staff: Staff, event: LiveEvent) -> bool:
    if staff.streets is None:
        return True
    return staff.sees_street(event_street(event.data))


async def _still_signed_in(state: CloudState, staff: Staff) -> bool:
    async with state.db.reads() as session:
        return await accounts.session_alive(
            session=session, session_id=staff.session_id, now_ms=state.now_ms()
        )


async def _frames(state: CloudState, staff: Staff) -> AsyncIterator[bytes]:
    gauge = state.metrics.stream_clients.labels("operators")
    gauge.inc()
    try:
        async with state.hub.subscribe(OPERATORS) as sub:
            yield CONNECTED
            while True:
                try:
                    event = await sub.next(wait_s=state.settings.sse_keepalive_s)
                except StreamClosed:
                    return
                if event is None:
                    if not await _still_signed_in(state, staff):
                        return
                    yield KEEPALIVE
                elif _visible(staff, event):
                    yield sse_event(event.name, event.data, event_id=event.id)
    finally:
        gauge.dec()
