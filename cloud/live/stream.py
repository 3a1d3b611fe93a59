"""``GET /api/v1/stream``: the operators' live stream (SSE).

Events: ``incident.created`` / ``incident.updated`` (data = the incident list item) and ``sms.sent``
(for the dev phone page). A keepalive comment every ``sse_keepalive_s`` (15 s by default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from starlette.responses import StreamingResponse

from cloud.deps import OperatorDep, StateDep
from cloud.live.hub import OPERATORS, StreamClosed
from cloud.live.sse import KEEPALIVE, sse_event, sse_response
from cloud.state import CloudState

router = APIRouter(prefix="/api/v1", tags=["live"])

CONNECTED = b"retry: 2000\n: connected\n\n"


@router.get("/stream", response_class=StreamingResponse)
async def live_stream(state: StateDep, _op: OperatorDep) -> StreamingResponse:
    return sse_response(_frames(state))


async def _frames(state: CloudState) -> AsyncIterator[bytes]:
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
                    yield KEEPALIVE
                else:
                    yield sse_event(event.name, event.data, event_id=event.id)
    finally:
        gauge.dec()
