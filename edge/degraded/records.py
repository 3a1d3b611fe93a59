"""What the edge texted, per (alarm, guardian), in the edge database (table ``edge_sms``).

A record is written as ``sending`` *before* the provider is called and becomes ``sent`` (or stays
``sending`` with a later ``next_try_ms``, or ``failed`` for good) after: a crash in between sends that
SMS again on restart (at least once — never zero times). Only the masked number is kept; the text holds
the masked name only.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from edge.database import Database
from edge.degraded.policy import FAILED, MAX_ATTEMPTS, SENDING, SENT, SmsRecord


@dataclass(frozen=True, slots=True)
class SmsView:
    """One row of the dev page (``GET /dev/sms`` on the gateway's metrics port)."""

    event_key: str
    guardian_id: int
    to_masked: str
    body: str
    provider: str
    status: str
    attempts: int
    sent_ms: int | None


class SmsRecords:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def of(self, event_key: str) -> list[SmsRecord]:
        def select(conn: sqlite3.Connection) -> list[SmsRecord]:
            rows = conn.execute(
                "SELECT guardian_id, status, attempts, next_try_ms, sent_ms FROM edge_sms"
                " WHERE event_key = ?",
                (event_key,),
            ).fetchall()
            return [SmsRecord(*row) for row in rows]

        return await self._db.run(select)

    async def begin(
        self, event_key: str, guardian_id: int, *, to_masked: str, body: str, provider: str, now_ms: int
    ) -> None:
        def upsert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO edge_sms (event_key, guardian_id, to_masked, body, provider, status, created_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (event_key, guardian_id) DO UPDATE SET provider = excluded.provider",
                (event_key, guardian_id, to_masked, body, provider, SENDING, now_ms),
            )

        await self._db.run(upsert)

    async def sent(self, event_key: str, guardian_id: int, *, provider_id: str, now_ms: int) -> None:
        def update(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE edge_sms SET status = ?, attempts = attempts + 1, sent_ms = ?, provider_id = ?,"
                " error = NULL WHERE event_key = ? AND guardian_id = ?",
                (SENT, now_ms, provider_id[:64], event_key, guardian_id),
            )

        await self._db.run(update)

    async def failed(
        self, event_key: str, guardian_id: int, *, error: str, retryable: bool, next_try_ms: int
    ) -> None:
        def update(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE edge_sms SET attempts = attempts + 1, error = ?, next_try_ms = ?,"
                " status = CASE WHEN ? OR attempts + 1 >= ? THEN ? ELSE status END"
                " WHERE event_key = ? AND guardian_id = ?",
                (error[:200], next_try_ms, not retryable, MAX_ATTEMPTS, FAILED, event_key, guardian_id),
            )

        await self._db.run(update)

    async def prune(self, *, older_than_ms: int) -> int:
        """Forget finished texts (sent, or failed for good) created before ``older_than_ms``: the same
        retention as the outbox's delivered events they belong to. A text still being sent stays."""

        def delete(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "DELETE FROM edge_sms WHERE status IN (?, ?) AND created_ms < ?",
                (SENT, FAILED, older_than_ms),
            )
            return cur.rowcount

        return await self._db.run(delete)

    async def recent(self, limit: int = 200) -> list[SmsView]:
        def select(conn: sqlite3.Connection) -> list[SmsView]:
            rows = conn.execute(
                "SELECT event_key, guardian_id, to_masked, body, provider, status, attempts, sent_ms"
                " FROM edge_sms ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            return [SmsView(*row) for row in rows]

        return await self._db.run(select)
