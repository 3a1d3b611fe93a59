"""The cloud's SQLite engine runs each statement in one thread hop, with the DB-API results SQLAlchemy
expects (rows, rowcount, lastrowid, executemany, RETURNING) and sqlite3's errors translated as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.db import create_engine, create_read_engine
from cloud.sqlite_cursor import OneHopCursor


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cursor.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call aiosqlite runs on a connection's thread, by function name."""
    calls: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return calls


async def test_a_statement_is_one_hop_with_the_same_results(engine: AsyncEngine, hops: list[str]) -> None:
    async with engine.begin() as conn:
        raw = await conn.get_raw_connection()
        assert raw.dbapi_connection is not None
        assert isinstance(raw.dbapi_connection.cursor(), OneHopCursor)
        hops.clear()
        inserted = await conn.execute(text("INSERT INTO t (v) VALUES (:v) RETURNING id"), {"v": "a"})
        assert inserted.scalar_one() == 1
        assert hops == ["_run"]
        many = await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "b"}, {"v": "c"}])
        assert many.rowcount == 2
        updated = await conn.execute(text("UPDATE t SET v = v || '!' WHERE id > 1"))
        assert updated.rowcount == 2
        rows = (await conn.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "b!"), (3, "c!")]
        assert hops == ["_run"] * 4


async def test_sqlite_errors_reach_sqlalchemy_translated(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        with pytest.raises(OperationalError):
            await conn.execute(text("SELECT * FROM no_such_table"))
        await conn.rollback()
        await conn.execute(text("INSERT INTO t (v) VALUES ('x')"))
        with pytest.raises(IntegrityError):
            await conn.execute(text("INSERT INTO t (v) VALUES ('x')"))
        await conn.rollback()


async def test_the_read_engine_uses_it_too(tmp_path: Path, engine: AsyncEngine) -> None:
    reads = create_read_engine(str(engine.url))
    assert reads is not None
    try:
        async with reads.connect() as conn:
            raw = await conn.get_raw_connection()
            assert raw.dbapi_connection is not None
            assert isinstance(raw.dbapi_connection.cursor(), OneHopCursor)
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
    finally:
        await reads.dispose()
