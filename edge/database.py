"""The gateway's SQLite file: one connection, owned by one worker thread, WAL + synchronous=FULL.

Every statement runs on that thread (``await db.run(fn)``), so the event loop never blocks on a disk
flush and no two statements interleave. ``run`` returns once ``fn`` has finished, so when ``fn``
commits, the row is on disk (``synchronous=FULL`` fsyncs the WAL on commit) before the caller goes on.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

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
"""


# Columns added after the first release: (table, column, type). A file from an older gateway gets them.
ADDED_COLUMNS = (("registry", "care_plan", "TEXT"), ("outbox", "digest", "TEXT"))


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    for table, column, sql_type in ADDED_COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
            log.info("database.column_added table=%s column=%s", table, column)


class Database:
    """The SQLite file at ``path``; call :meth:`open` first and :meth:`close` at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-db")
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

    async def open(self) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._open)
        except (sqlite3.Error, OSError) as exc:
            raise OutboxError(f"cannot open the edge database: {exc}") from exc
        log.info("database.opened")

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise OutboxError("database is not open")
        return fn(self._conn)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the database thread and return its result."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn)
        except sqlite3.Error as exc:
            raise OutboxError(f"edge database error: {exc}") from exc

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)
        log.info("database.closed")
