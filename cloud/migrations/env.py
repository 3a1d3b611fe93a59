"""Alembic environment: works with the async URLs (aiosqlite, asyncpg).

``cloud.db.migrate`` hands over an open connection in ``config.attributes["connection"]``; the
``alembic`` command line instead builds an async engine from ``sqlalchemy.url`` (or
``ANXIN_CLOUD_DATABASE_URL``).
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

from cloud.orm import load_all_models

config = context.config
target_metadata = load_all_models()


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or os.environ.get(
        "ANXIN_CLOUD_DATABASE_URL", "sqlite+aiosqlite:///./var/anxin-cloud.db"
    )


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
