"""``anxin cloud --workers N``: N center processes sharing one listening socket and one PostgreSQL.

The supervisor binds the port once and hands the socket to N spawned workers (the kernel spreads
connections between them, as uvicorn's and gunicorn's workers do). Each worker is the whole service:
intake is idempotent across workers (unique keys, row locks), the escalation scheduler and the SMS
outbox claim rows with ``FOR UPDATE SKIP LOCKED``, the retention purge runs under an advisory lock, and
live events reach every worker's operators through PostgreSQL ``LISTEN/NOTIFY``
(:mod:`cloud.live.relay`). SQLite is refused: there one process is the unit (its writes are
serialised in-process). When one worker ends, the others are stopped and the supervisor exits
non-zero (a service manager restarts the set), as ``anxin edge --workers`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import secrets
import signal
import socket
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from cloud.settings import CloudSettings

log = logging.getLogger(__name__)

STOP_GRACE_S = 15.0
BACKLOG = 2048


class WorkersRefused(Exception):
    """These settings cannot run several workers."""


def shared_settings(settings: CloudSettings, workers: int) -> CloudSettings:
    """The settings every worker gets: refused on SQLite; one session secret for all (a session signed
    by one worker must be valid at the others), generated here when none is configured."""
    backend = make_url(settings.database_url).get_backend_name()
    if backend != "postgresql":
        raise WorkersRefused(
            f"--workers {workers} needs PostgreSQL (ANXIN_CLOUD_DATABASE_URL=postgresql+asyncpg://...): "
            f"on {backend} one process is the unit; run one worker"
        )
    if settings.session_secret is not None:
        return settings
    log.info("auth.ephemeral_session_secret shared by the workers (sessions end when the set restarts)")
    return settings.model_copy(update={"session_secret": SecretStr(secrets.token_urlsafe(32))})


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _worker_main(settings: CloudSettings, sock: socket.socket, index: int, level: int) -> None:
    from cloud.app import create_app  # the child imports the service, not the supervisor
    from cloud.main import serve_app

    logging.basicConfig(level=level, format=f"%(asctime)s %(levelname)s w{index} %(name)s %(message)s")
    # SQL parameters carry names and phone numbers; migration plugin chatter drowns what matters
    for quiet in ("aiosqlite", "sqlalchemy.engine", "asyncpg", "alembic.runtime.plugins", "httpx"):
        logging.getLogger(quiet).setLevel(max(logging.WARNING, level))
    host, port = sock.getsockname()[:2]
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_app(create_app(settings), host=host, port=port, sockets=[sock]))


def run_workers(settings: CloudSettings, *, host: str, port: int, workers: int) -> int:
    """Start ``workers`` center processes on ``host:port`` and supervise them until one ends or a
    signal; returns the exit code (2: refused, 1: a worker ended or the port is taken)."""
    try:
        settings = shared_settings(settings, workers)
    except WorkersRefused as exc:
        log.error("cloud.workers_refused reason=%s", exc)
        return 2
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        log.error("cloud.bind_failed host=%s port=%d error=%s", host, port, exc)
        return 1
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = []
    previous = signal.signal(signal.SIGTERM, lambda *_: _raise_interrupt())
    code = 0
    try:
        for index in range(workers):
            process = context.Process(
                target=_worker_main,
                args=(settings, sock, index, logging.getLogger().level),
                name=f"anxin-cloud-w{index}",
            )
            process.start()
            processes.append(process)
            log.info("cloud.worker_started worker=%d of=%d pid=%s", index, workers, process.pid)
        ended = wait([p.sentinel for p in processes])
        for gone in processes:
            if gone.sentinel in ended:
                log.error("cloud.worker_ended name=%s exitcode=%s", gone.name, gone.exitcode)
        code = 1
    except KeyboardInterrupt:
        log.info("cloud.workers_stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop(processes)
        sock.close()
    return code


def _raise_interrupt() -> None:
    raise KeyboardInterrupt


def _stop(processes: list[BaseProcess]) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(STOP_GRACE_S)
        if process.is_alive():
            process.kill()
            process.join()
