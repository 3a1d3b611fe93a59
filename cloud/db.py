"""Database engine, sessions and migrations.

At startup :func:`open_database` creates the engine and runs ``alembic upgrade head`` on one of its
connections (``run_sync``), so a fresh SQLite file just works. SQLite gets WAL with ``synchronous=FULL``
(a committed incident survives a power cut), foreign keys, a busy timeout, and ``BEGIN IMMEDIATE``
transactions so that concurrent writers queue instead of failing; its file is created 0600 in a 0700
folder (:mod:`cloud.private_files`); each statement costs one thread hop (:mod:`cloud.sqlite_cursor`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from cloud.private_files import private_file
from cloud.sqlite_cursor import use_one_hop_cursors

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
LOCK_TIMEOUT_S = 30.0
# PostgreSQL advisory lock keys: several center workers on one database take turns for these
MIGRATION_LOCK = 0x616E78696E_01  # "anxin" 1: alembic upgrade
STARTUP_LOCK = 0x616E78696E_02  # seeding the district, demo data and first accounts
RETENTION_LOCK = 0x616E78696E_03  # one purge at a time


SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass
class Database:
    """The engine and its sessions.

    On SQLite every transaction takes the database's write lock (``BEGIN IMMEDIATE``); ``write_lock``
    queues this process's sessions in FIFO order before they ask SQLite, instead of leaving them to
    SQLite's sleeping busy handler (which made p99 latency under concurrent intake exceed a second).
    """

    engine: AsyncEngine
    maker: async_sessionmaker[AsyncSession]
    write_lock: asyncio.Lock | None = None
    read_engine: AsyncEngine | None = None  # SQLite only: plain reads that never take the write lock

    @asynccontextmanager
    async def reads(self) -> AsyncIterator[AsyncSession]:
        """A read-only session that may be opened while a unit of work is open (sign-in checks, reports).

        On SQLite it uses its own connections without ``BEGIN IMMEDIATE`` (WAL readers never wait for
        the writer); on PostgreSQL it is an ordinary session.
        """
        if self.read_engine is None:
            async with self.maker() as session:
                yield session
            return
        async with AsyncSession(self.read_engine, expire_on_commit=False) as session:
            yield session

    @asynccontextmanager
    async def sessions(self) -> AsyncIterator[AsyncSession]:
        """A session (one unit of work). Do not open a second one while holding one."""
        if self.write_lock is None:
            async with self.maker() as session:
                yield session
            return
        async with asyncio.timeout(LOCK_TIMEOUT_S):
            await self.write_lock.acquire()
        try:
            async with self.maker() as session:
                yield session
        finally:
            self.write_lock.release()

    @property
    def shared(self) -> bool:
        """Whether several center processes may use this database at once (PostgreSQL, not SQLite)."""
        return self.engine.url.get_backend_name() == "postgresql"

    @asynccontextmanager
    async def exclusive(self, key: int) -> AsyncIterator[None]:
        """Hold the advisory lock ``key`` for the block, so one worker at a time runs it (PostgreSQL;
        on SQLite one process is the unit and this does nothing)."""
        if not self.shared:
            yield
            return
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                await conn.commit()

    async def close(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not None:
            await self.read_engine.dispose()


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    use_one_hop_cursors(dbapi_connection)
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")  # an incident is on disk when its commit returns
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_read_only(dbapi_connection: Any, _record: Any) -> None:
    use_one_hop_cursors(dbapi_connection)
    dbapi_connection.isolation_level = None  # autocommit: every read sees the latest commit
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def create_read_engine(url: str) -> AsyncEngine | None:
    """A second engine for plain reads on SQLite (None on other backends)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None  # another server, or a private in-memory database a second engine cannot see
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _sqlite_read_only)
    return engine


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            private_file(Path(database))  # 0600 before SQLite creates it (and its -wal, -shm)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _upgrade(connection: Connection, cfg: Config) -> None:
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Run ``alembic upgrade head`` on ``engine`` (in one transaction)."""
    cfg = alembic_config()
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # workers starting together: one migrates, the rest wait
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await conn.run_sync(_upgrade, cfg)
    log.info("db.migrated backend=%s", engine.url.get_backend_name())


async def open_database(url: str) -> Database:
    engine = create_engine(url)
    try:
        await migrate(engine)
    except BaseException:
        await engine.dispose()
        raise
    lock = asyncio.Lock() if engine.url.get_backend_name() == "sqlite" else None
    return Database(
        engine=engine,
        maker=async_sessionmaker(engine, expire_on_commit=False),
        write_lock=lock,
        read_engine=create_read_engine(url),
    )


async def try_job_lock(session: AsyncSession, key: int) -> bool:
    """Take the advisory lock ``key`` for this transaction if no other worker holds it (PostgreSQL);
    False: another worker is doing the job now. Always True on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}))
