"""The one test HTTP server: an ASGI app under real uvicorn on a free port, listening before it yields.

The socket is bound and listening before the server task starts, so the first request can be sent at
once: it waits in the kernel backlog until the app's lifespan has run. No polling, no sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from cloud.settings import CloudSettings

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


@contextlib.asynccontextmanager
async def serving_cloud(settings: CloudSettings, *, wait_s: float = 30) -> AsyncIterator[str]:
    """The district center as ``anxin cloud`` runs it (``cloud.main.serve``: its own uvicorn server,
    streams closed on shutdown) on a free port; yields the base URL once it listens, and shuts it down
    (cancellation, the clean path) when the block ends."""
    from broker.runner import free_port
    from cloud.main import serve

    port = free_port()
    started = asyncio.Event()
    task = asyncio.create_task(serve(settings, host="127.0.0.1", port=port, started=started))
    try:
        await asyncio.wait_for(started.wait(), wait_s)
        yield f"http://127.0.0.1:{port}"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, wait_s)
        assert task.cancelled(), "the center did not stop on cancellation"
