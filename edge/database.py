"""The gateway's SQLite file: one connection, owned by one worker thread, WAL + synchronous=FULL.

Every statement runs on that thread (``await db.run(fn)``), so the event loop never blocks on a disk
flush and no two statements interleave. ``run`` returns once ``fn`` has finished, so when ``fn``
commits, the row is on disk (``synchronous=FULL`` fsyncs the WAL on commit) before the caller goes on.

The thread takes ``urgent`` work first (the outbox: storing an alarm, the forwarder's reads and
answers), then the rest (last-seen flushes, pruning, the registry) in arrival order: an SOS stored
behind a flush of thousands of devices' last-seen times waits for at most the statement in hand, not
for the whole queue. One caller's own calls keep their order (each awaits the previous one).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from edge.errors import OutboxError
from edge.private_files import private_file

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    key          TEXT    NOT NULL UNIQUE,
    device_id    TEXT    NOT NULL,
    priority     INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    body         BLOB    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_try_ms  INTEGER NOT NULL DEFAULT 0,
    created_ms   INTEGER NOT NULL,
    done_ms      INTEGER,
    error        TEXT,
    digest       TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (status, device_id, id);
CREATE TABLE IF NOT EXISTS registry (
    device_id   TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    subject_id  TEXT,
    care_plan   TEXT
);
CREATE TABLE IF NOT EXISTS meta (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS edge_sms (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_key    TEXT    NOT NULL,
    guardian_id  INTEGER NOT NULL,
    to_masked    TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    provider     TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_try_ms  INTEGER NOT NULL DEFAULT 0,
    created_ms   INTEGER NOT NULL,
    sent_ms      INTEGER,
    provider_id  TEXT,
    error        TEXT,
    UNIQUE (event_key, guardian_id)
);
CREATE TABLE IF NOT EXISTS last_seen (
    device_id   TEXT PRIMARY KEY,
    fleet_ms    INTEGER NOT NULL,
    device_ts   INTEGER NOT NULL,
    offline_ms  INTEGER,
    silent      INTEGER NOT NULL DEFAULT 0,
    low_battery INTEGER NOT NULL DEFAULT 0
);
"""


# Columns added after the first release: (table, column, type). A file from an older gateway gets them.
ADDED_COLUMNS = (
    ("registry", "care_plan", "TEXT"),
    ("outbox", "digest", "TEXT"),
    ("registry", "hub_id", "TEXT"),  # a service-pack sensor: the hub that publishes for it
    ("registry", "room", "TEXT"),
    ("registry", "masked_name", "TEXT"),
    ("registry", "guardians", "TEXT"),
    ("outbox", "edge_notified_ms", "INTEGER"),
)


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    for table, column, sql_type in ADDED_COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
            log.info("database.column_added table=%s column=%s", table, column)


URGENT, ROUTINE, STOP = 0, 1, 2  # the thread's order of work (STOP: after everything queued)
_Job = tuple[
    int, int, Callable[[], Any] | None, asyncio.AbstractEventLoop | None, "asyncio.Future[Any] | None"
]


class _DatabaseThread:
    """One thread running jobs by (priority, arrival); each job's outcome goes back to its loop."""

    def __init__(self) -> None:
        self._jobs: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._order = itertools.count()
        self._thread = threading.Thread(target=self._work, name="edge-db", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], T], *, urgent: bool) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((URGENT if urgent else ROUTINE, next(self._order), fn, loop, future))
        return future

    def stop(self) -> None:
        """Finish what is queued, then end the thread (waits for it)."""
        self._jobs.put((STOP, next(self._order), None, None, None))
        self._thread.join()

    def _work(self) -> None:
        while True:
            _, _, fn, loop, future = self._jobs.get()
            if fn is None or loop is None or future is None:
                return
            try:
                result = fn()
            except BaseException as exc:  # handed to the awaiting caller
                loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


class Database:
    """The SQLite file at ``path``; call :meth:`open` first and :meth:`close` at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread: _DatabaseThread | None = None
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> None:
        private_file(self.path)  # 0600 in a 0700 folder, before SQLite creates it (and its -wal, -shm)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.executescript(SCHEMA)
        _add_missing_columns(conn)
        self._conn = conn

    def _worker(self) -> _DatabaseThread:
        if self._thread is None:
            self._thread = _DatabaseThread()
        return self._thread

    async def open(self) -> None:
        try:
            await self._worker().submit(self._open, urgent=True)
        except (sqlite3.Error, OSError) as exc:
            raise OutboxError(f"cannot open the edge database: {exc}") from exc
        log.info("database.opened")

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise OutboxError("database is not open")
        return fn(self._conn)

    async def run(self, fn: Callable[[sqlite3.Connection], T], *, urgent: bool = False) -> T:
        """Run ``fn(connection)`` on the database thread and return its result; ``urgent`` work is
        taken before routine work that is still waiting (see the module)."""
        try:
            return await self._worker().submit(lambda: self._call(fn), urgent=urgent)
        except sqlite3.Error as exc:
            raise OutboxError(f"edge database error: {exc}") from exc

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        worker = self._worker()
        await worker.submit(self._close, urgent=False)
        await asyncio.to_thread(worker.stop)
        self._thread = None
        log.info("database.closed")
