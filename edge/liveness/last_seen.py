"""Devices' last-seen state in the edge database (table ``last_seen``), written in batches.

The gateway keeps the state in memory (:class:`~edge.liveness.silence.SilenceWatch`) and writes what
changed every ``last_seen_flush_s`` (5 s) — never a write per message on the hot path. A ``kill -9``
loses at most that much: the device then looks quiet a few seconds longer than it was, so it is
reported a few seconds early at worst, never late and never missed. A flush goes in transactions of at
most :data:`CHUNK` devices, so an alarm the outbox stores meanwhile waits for one chunk at most (the
database thread takes the outbox's work first: :mod:`edge.database`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from edge.database import Database
from edge.liveness.silence import Seen

CHUNK = 500  # devices per transaction


class LastSeenStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self) -> list[tuple[str, Seen]]:
        def select(conn: sqlite3.Connection) -> list[tuple[str, Seen]]:
            rows = conn.execute(
                "SELECT device_id, fleet_ms, device_ts, offline_ms, silent, low_battery FROM last_seen"
            ).fetchall()
            return [
                (str(d), Seen(int(f), int(t), None if o is None else int(o), bool(s), bool(low)))
                for d, f, t, o, s, low in rows
            ]

        return await self._db.run(select)

    async def save(self, states: Sequence[tuple[str, Seen]]) -> None:
        if not states:
            return
        rows = [
            (d, s.fleet_ms, s.device_ts, s.offline_ms, int(s.silent), int(s.low_battery)) for d, s in states
        ]

        for start in range(0, len(rows), CHUNK):
            await self._db.run(_upsert(rows[start : start + CHUNK]))


def _upsert(rows: list[tuple[str, int, int, int | None, int, int]]) -> Callable[[sqlite3.Connection], None]:
    def upsert(conn: sqlite3.Connection) -> None:
        with conn:
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO last_seen (device_id, fleet_ms, device_ts, offline_ms, silent, low_battery)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET"
                " fleet_ms = excluded.fleet_ms, device_ts = excluded.device_ts,"
                " offline_ms = excluded.offline_ms, silent = excluded.silent,"
                " low_battery = excluded.low_battery",
                rows,
            )

    return upsert
