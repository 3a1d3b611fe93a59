"""Migration 0003 fills the exact event kinds of incidents that existed before it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Connection, text

from cloud.db import alembic_config, create_engine


def _upgrade_to(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def test_existing_incidents_get_their_origin_and_latest_kinds(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_to, "0002")
            await conn.execute(
                text("INSERT INTO streets (id, code, name_zh, name_en) VALUES (1, 's1', '街', 'Street');")
            )
            await conn.execute(text("INSERT INTO communities (id, street_id, name_zh) VALUES (1, 1, '社区')"))
            await conn.execute(
                text(
                    "INSERT INTO subjects (id, kind, display_name, birth_year, community_id, address, "
                    "care_notes, created_at) VALUES (1, 'child', '王小明', 2015, 1, '', '', 0)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO incidents (id, kind, severity, status, subject_id, fusion_key, device_id, "
                    "edge_id, origin_key, origin_seq, device_ts, edge_ts, cloud_ts, updated_at, event_count) "
                    "VALUES (1, 'geofence', 'P2', 'new', 1, 'geofence', 'kid-1', 'e', 'kid-1:1', 1, "
                    "0, 0, 0, 0, 2)"
                )
            )
            for seq, kind in ((1, "geofence_exit"), (2, "geofence_enter")):
                await conn.execute(
                    text(
                        "INSERT INTO edge_events (key, edge_id, device_id, seq, kind, severity, device_ts, "
                        "edge_ts, cloud_ts, incident_id, payload) "
                        f"VALUES ('kid-1:{seq}', 'e', 'kid-1', {seq}, '{kind}', 'P2', 0, 0, 0, 1, '{{}}')"
                    )
                )
            await conn.run_sync(_upgrade_to, "head")
            row = (
                await conn.execute(
                    text("SELECT origin_kind, last_event_kind, guardian_answered_at FROM incidents")
                )
            ).one()
        assert tuple(row) == ("geofence_exit", "geofence_enter", None)
    finally:
        await engine.dispose()
