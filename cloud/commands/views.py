"""The edge's command stream (SSE) and command acknowledgements (contracts/intake.py)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header
from pydantic import BaseModel
from starlette.responses import StreamingResponse

from cloud.commands import service
from cloud.deps import ClockDep, EdgeDep, SessionDep, StateDep
from cloud.errors import Forbidden
from cloud.live.hub import StreamClosed, edge_channel
from cloud.live.sse import KEEPALIVE, sse_event, sse_response
from cloud.state import CloudState
from contracts.intake import COMMAND_ACK_PATH, COMMANDS_PATH

log = logging.getLogger(__name__)
router = APIRouter(tags=["edge commands"])

CONNECTED = b"retry: 2000\n: connected\n\n"


class CommandAck(BaseModel):
    id: int
    acked: bool = True
    duplicate: bool = False


def _own(edge: str, edge_id: str) -> None:
    if edge != edge_id:
        raise Forbidden("this token belongs to another edge", field="edge_id")


@router.get(COMMANDS_PATH, response_class=StreamingResponse)
async def command_stream(
    edge_id: str,
    state: StateDep,
    edge: EdgeDep,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    """Every unacknowledged command of this edge, then new ones as they are queued.

    Unacknowledged commands are replayed on every (re)connection, whatever ``Last-Event-ID`` says:
    a command leaves the stream only when the edge acknowledges it.
    """
    _own(edge, edge_id)
    log.info("commands.stream_opened edge=%s last_event_id=%s", edge_id, last_event_id or "-")
    return sse_response(_frames(state, edge_id))


async def _frames(state: CloudState, edge_id: str) -> AsyncIterator[bytes]:
    gauge = state.metrics.stream_clients.labels("edge")
    gauge.inc()
    try:
        async with state.hub.subscribe(edge_channel(edge_id)) as sub:
            yield CONNECTED
            last_sent = 0
            while True:
                async with state.db.sessions() as session:
                    commands = await service.unacked_commands(
                        session=session, edge_id=edge_id, after_id=last_sent
                    )
                for command in commands:
                    yield sse_event("command", command.model_dump(mode="json"), event_id=str(command.id))
                    last_sent = command.id
                try:
                    woke = await sub.next(wait_s=state.settings.sse_keepalive_s)
                except StreamClosed:
                    return
                if woke is None:
                    yield KEEPALIVE
    finally:
        gauge.dec()
        log.info("commands.stream_closed edge=%s", edge_id)


@router.post(COMMAND_ACK_PATH)
async def ack_command(
    edge_id: str, command_id: int, session: SessionDep, now: ClockDep, edge: EdgeDep
) -> CommandAck:
    _own(edge, edge_id)
    first = await service.ack_command(session=session, edge_id=edge_id, command_id=command_id, now_ms=now())
    await session.commit()
    return CommandAck(id=command_id, duplicate=not first)
