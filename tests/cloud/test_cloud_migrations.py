"""The Alembic migrations build exactly the schema the models describe, on a fresh SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from cloud.db import open_database
from cloud.orm import load_all_models


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, load_all_models()))


def _pragmas(connection: Connection) -> tuple[str, int, list[str]]:
    journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
    foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one()
    return journal, foreign_keys, inspect(connection).get_table_names()


async def test_fresh_database_is_migrated_and_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'fresh.db'}"
    db = await open_database(url)
    try:
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            journal, foreign_keys, tables = await conn.run_sync(_pragmas)
        assert journal == "wal"
        assert foreign_keys == 1
        expected = {"incidents", "edge_events", "notifications", "edge_commands", "alembic_version"}
        assert expected <= set(tables)
    finally:
        await db.close()
    again = await open_database(url)  # upgrading an up-to-date database is a no-op
    await again.close()
