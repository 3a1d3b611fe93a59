"""Migration 0005 (alarm identity) keeps existing incidents and events, and can be undone.

Also run on PostgreSQL by ``test_cloud_postgres.py`` (same function, another URL).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Connection, text

from cloud.db import alembic_config, create_engine


def _migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    if down:
        command.downgrade(cfg, revision)
    else:
        command.upgrade(cfg, revision)


async def upgrade_and_downgrade_with_data(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "0004")
            for statement in (
                "INSERT INTO streets (id, code, name_zh, name_en) VALUES (1, 's1', '街', 'Street')",
                "INSERT INTO communities (id, street_id, name_zh) VALUES (1, 1, '社区')",
                "INSERT INTO subjects (id, kind, display_name, birth_year, community_id, address, care_notes,"
                " created_at) VALUES (1, 'elder', '王秀英', 1940, 1, '', '', 0)",
                "INSERT INTO incidents (id, kind, severity, status, subject_id, fusion_key, device_id,"
                " edge_id, origin_key, origin_seq, device_ts, edge_ts, cloud_ts, updated_at, event_count)"
                " VALUES (1, 'sos', 'P1', 'new', 1, 'sos', 'card-1', 'e', 'card-1:5', 5, 0, 0, 0, 0, 1)",
                "INSERT INTO incident_timeline (incident_id, at, type, actor, text, data)"
                " VALUES (1, 0, 'created', 'device', '', '{}')",
                "INSERT INTO edge_events (key, edge_id, device_id, seq, kind, severity, device_ts,"
                " edge_ts, cloud_ts, incident_id, payload)"
                " VALUES ('card-1:5', 'e', 'card-1', 5, 'sos', 'P1', 0, 0, 0, 1, '{}')",
            ):
                await conn.execute(text(statement))
            await conn.run_sync(_migrate, "head")
            row = (await conn.execute(text("SELECT origin_boot, unassigned_reason FROM incidents"))).one()
            assert tuple(row) == (0, None)
            assert (await conn.execute(text("SELECT boot FROM edge_events"))).scalar_one() == 0
            long_key = "e" * 64 + "/" + "d" * 64 + ":b4294967295.9007199254740991.x0123456789abcdef"
            await conn.execute(
                text(
                    "INSERT INTO incidents (id, kind, severity, status, subject_id, fusion_key, device_id,"
                    " edge_id, origin_key, origin_seq, origin_boot, device_ts, edge_ts, cloud_ts, updated_at,"
                    " event_count, unassigned_reason) VALUES (2, 'sos', 'P1', 'new', NULL, 'sos', 'x-1', 'e',"
                    " 'x-1:1', 1, 0, 0, 0, 0, 0, 1, 'unknown_device')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO edge_events (key, edge_id, device_id, boot, seq, kind, severity,"
                    " device_ts, edge_ts, cloud_ts, incident_id, payload)"
                    " VALUES (:key, 'e', 'x-1', 0, 1, 'sos', 'P1', 0, 0, 0, 2, '{}')"
                ),
                {"key": long_key},
            )
            await conn.run_sync(_migrate, "0004", down=True)
            ids = (await conn.execute(text("SELECT id FROM incidents ORDER BY id"))).scalars().all()
            assert ids == [1]  # the unassigned incident has no place in the older schema
            assert (await conn.execute(text("SELECT COUNT(*) FROM edge_events"))).scalar_one() == 1
            await conn.run_sync(_migrate, "head")
    finally:
        await engine.dispose()


async def test_migration_0005_up_and_down_on_sqlite(tmp_path: Path) -> None:
    await upgrade_and_downgrade_with_data(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
