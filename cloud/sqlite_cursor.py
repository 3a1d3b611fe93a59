"""A SQLite cursor for SQLAlchemy's aiosqlite dialect that runs each statement in one thread hop.

aiosqlite runs every call on the connection's own thread and hands the result back to the event loop;
SQLAlchemy's adapter makes four such calls per statement (open a cursor, execute, fetch all rows,
close). Each hop costs the event loop a future, a wake-up through its self-pipe and a loop iteration:
profiling the intake on SQLite put more of the event loop's time in these hops than in SQLite itself.
:class:`OneHopCursor` does the same four steps inside one call on the connection's thread, with the
same locking, results and exceptions (a ``sqlite3`` error still reaches SQLAlchemy, which translates it).

:func:`use_one_hop_cursors` installs it on a connection from the engine's ``connect`` event. It relies
on two internals — aiosqlite's ``Connection._execute`` (run a callable on the connection's thread) and
SQLAlchemy's ``_cursor_cls`` — so tests/cloud run every SQLite statement through it; server-side
cursors (streaming results) keep the dialect's own class.
"""

from __future__ import annotations

import collections
import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_cursor
from sqlalchemy.util import EMPTY_DICT


@dataclass(slots=True)
class _Ran:
    """What a closed ``sqlite3`` cursor leaves behind: the part of the DB-API cursor SQLAlchemy reads."""

    description: Any
    rowcount: int
    lastrowid: int | None
    rows: list[Any]
    arraysize: int = 1

    def close(self) -> None:
        """Already closed on the connection's thread."""


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Ran:
    """On the connection's thread: execute, fetch every row, close."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return _Ran(cursor.description, cursor.rowcount, cursor.lastrowid, rows)
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()
    _awaitable_cursor_close = False  # nothing is left open on the connection's thread

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = _Ran(description=None, rowcount=-1, lastrowid=None, rows=[])  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._hop(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._hop(operation, seq_of_parameters, many=True)

    async def _hop(self, operation: Any, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            conn = self._connection._conn  # raises ValueError("no active connection") when closed
            ran: _Ran = await self._connection._execute(_run, conn, operation, parameters, many)
        self._cursor = ran  # type: ignore[assignment]
        self._rows = collections.deque(ran.rows)


class _OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor  # type: ignore[assignment]  # a subclass; mypy reads the base as exact


def use_one_hop_cursors(dbapi_connection: Any) -> None:
    """Make ``dbapi_connection`` (aiosqlite, as SQLAlchemy adapts it) use :class:`OneHopCursor`."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = _OneHopConnection
