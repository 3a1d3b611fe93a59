"""``anxin cloud``: run the district center's alert-dispatch service; and :func:`serve` for ``anxin demo``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from cloud.app import create_app
from cloud.live.hub import LiveHub
from cloud.settings import CloudSettings

log = logging.getLogger(__name__)

DEFAULT_PORT = 8000
GRACEFUL_SHUTDOWN_S = 5
STOP_TIMEOUT_S = 15.0


class CloudServer(uvicorn.Server):
    """uvicorn.Server that says when it listens and ends the live streams before it drains."""

    def __init__(self, config: uvicorn.Config, *, hub: LiveHub, started: asyncio.Event | None) -> None:
        super().__init__(config)
        self._hub = hub
        self._started_event = started

    async def startup(self, sockets: Any = None) -> None:
        try:
            await super().startup(sockets=sockets)
        except SystemExit:  # uvicorn exits the process when it cannot bind; we report it instead
            self.should_exit = True
            return
        if self.started and self._started_event is not None:
            self._started_event.set()

    async def shutdown(self, sockets: Any = None) -> None:
        self._hub.close()  # SSE responses finish, so uvicorn need not wait for them
        await super().shutdown(sockets=sockets)


async def serve(
    settings: CloudSettings, *, host: str, port: int, started: asyncio.Event | None = None
) -> None:
    """Run the service with uvicorn in the current event loop until cancelled (or signalled).

    ``started`` is set once the socket listens. On cancellation the server shuts down cleanly
    (streams closed, lifespan shutdown run) before the cancellation propagates.
    """
    await serve_app(create_app(settings), host=host, port=port, started=started)


async def serve_app(
    app: FastAPI,
    *,
    host: str,
    port: int,
    started: asyncio.Event | None = None,
    sockets: list[socket.socket] | None = None,
) -> None:
    """:func:`serve` for an app already built (tests build theirs with fakes at the transport seam).
    ``sockets``: serve on these listening sockets (``anxin cloud --workers``) instead of binding."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = CloudServer(config, hub=app.state.hub, started=started)
    task = asyncio.create_task(server.serve(sockets=sockets), name="cloud-uvicorn")
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, STOP_TIMEOUT_S)
        raise
    if not server.started:
        raise RuntimeError(f"the cloud service did not start on {host}:{port} (see the log)")


def _run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.db:
        overrides["database_url"] = args.db
    if args.demo_data:
        overrides["demo_data"] = True
    try:
        settings = CloudSettings(**overrides)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            field = ".".join(str(p) for p in err["loc"])
            log.error("cloud.bad_setting field=%s message=%s", field, err["msg"])
        return 2
    if args.workers > 1:
        from cloud.workers import run_workers

        return run_workers(settings, host=args.host, port=args.port, workers=args.workers)
    try:
        asyncio.run(serve(settings, host=args.host, port=args.port))
    except RuntimeError as exc:
        log.error("cloud.failed error=%s", exc)
        return 1
    return 0


def _worker_count(value: str) -> int:
    count = int(value)
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError("between 1 and 64")
    return count


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cloud",
        help="run the district center's alert-dispatch service (HTTP API + console)",
        description="Run the district center's alert-dispatch service: edge intake, incidents, operator "
        "API and live stream, guardian SMS. Settings come from ANXIN_CLOUD_* environment variables "
        '(e.g. ANXIN_CLOUD_EDGE_TOKENS=\'{"edge-xiqing-01": "<token>"}\', '
        "ANXIN_CLOUD_OPERATOR_PASSWORD, ANXIN_CLOUD_SESSION_SECRET, "
        "ANXIN_CLOUD_NOTIFIER=console|twilio|aliyun); see docs/api.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port to listen on")
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="database URL, overrides ANXIN_CLOUD_DATABASE_URL "
        "(sqlite+aiosqlite:///./var/anxin-cloud.db, postgresql+asyncpg://user@host/db)",
    )
    parser.add_argument(
        "--demo-data", action="store_true", help="load the demo district into an empty database"
    )
    parser.add_argument(
        "--workers",
        type=_worker_count,
        default=1,
        metavar="N",
        help="run N center processes on the same port; N > 1 needs PostgreSQL (live events shared by "
        "LISTEN/NOTIFY, timers and SMS claimed with SKIP LOCKED; see docs/scaling.md)",
    )
    parser.set_defaults(func=_run)
