"""The one test HTTP server: an ASGI app under real uvicorn on a free port, listening before it yields.

The socket is bound and listening before the server task starts, so the first request can be sent at
once: it waits in the kernel backlog until the app's lifespan has run. No polling, no sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn

ServerFactory = Callable[[uvicorn.Config], uvicorn.Server]


@contextlib.asynccontextmanager
async def serving(
    app: Any,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    server: ServerFactory = uvicorn.Server,
    graceful_s: int = 2,
) -> AsyncIterator[str]:
    """Run ``app`` on ``host:port`` (a free port by default) until the block ends; yields the base URL.

    ``server`` builds the ``uvicorn.Server`` (a product's own subclass, e.g. one that closes its live
    streams on shutdown)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
        bound = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", timeout_graceful_shutdown=graceful_s, access_log=False
        )
        running = server(config)
        task = asyncio.create_task(running.serve(sockets=[sock]))
        try:
            yield f"http://{host}:{bound}"
        finally:
            running.should_exit = True
            await asyncio.wait_for(task, 10)
    finally:
        sock.close()
