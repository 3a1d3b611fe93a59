"""Server-Sent Events framing and the streaming response used by the live and command streams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.responses import StreamingResponse

SSE_HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",  # tell nginx-style proxies not to buffer
    "Connection": "keep-alive",
}
KEEPALIVE = b": keepalive\n\n"


def sse_event(name: str, data: Any, *, event_id: str | None = None) -> bytes:
    """One SSE frame. ``data`` is JSON-encoded on a single line."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {name}")
    head = ("\n".join(lines) + "\n").encode()
    return head + b"data: " + orjson.dumps(data) + b"\n\n"


def sse_response(frames: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)
