"""The durable outbox: every event the cloud must get, kept on disk until the cloud confirmed it.

Rows are unique by event key (device id + seq), so a repeated alarm is stored once. ``priority`` is the
severity number (1 = P1). The forwarder asks for the *head* (oldest pending event) of each device,
ordering devices by the most urgent event they have pending: P1 alarms go first, and a device's events
still reach the cloud in the order they happened.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from contracts import EdgeEvent, encode
from edge.database import Database

PENDING = "pending"
DELIVERED = "delivered"
REJECTED = "rejected"


def priority_of(event: EdgeEvent) -> int:
    return int(event.severity.value[1:])


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    key: str
    device_id: str
    priority: int
    body: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    pending: int
    delivered: int
    rejected: int


class Outbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, event: EdgeEvent, *, now_ms: int) -> bool:
        """Store ``event`` durably (committed and fsynced on return). False if its key was already there."""
        body = encode(event)

        def insert(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT OR IGNORE INTO outbox (key, device_id, priority, kind, body, created_ms)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (event.key, event.device_id, priority_of(event), event.kind.value, body, now_ms),
            )
            return cur.rowcount == 1

        return await self._db.run(insert)

    async def heads(self, *, now_ms: int, limit: int) -> list[OutboxRow]:
        """The oldest pending event of each device that is due, most urgent devices first."""

        def select(conn: sqlite3.Connection) -> list[OutboxRow]:
            rows = conn.execute(
                """
                WITH heads AS (
                    SELECT device_id, MIN(id) AS head_id, MIN(priority) AS best
                    FROM outbox WHERE status = 'pending' GROUP BY device_id
                )
                SELECT o.id, o.key, o.device_id, o.priority, o.body, o.attempts
                FROM heads JOIN outbox o ON o.id = heads.head_id
                WHERE o.next_try_ms <= ?
                ORDER BY heads.best, heads.head_id
                LIMIT ?
                """,
                (now_ms, limit),
            ).fetchall()
            return [OutboxRow(*row) for row in rows]

        return await self._db.run(select)

    async def next_due_ms(self) -> int | None:
        """When the earliest pending head becomes due (None if nothing is pending)."""

        def select(conn: sqlite3.Connection) -> int | None:
            row = conn.execute(
                "SELECT MIN(o.next_try_ms) FROM outbox o JOIN (SELECT MIN(id) AS head_id FROM outbox"
                " WHERE status = 'pending' GROUP BY device_id) h ON o.id = h.head_id"
            ).fetchone()
            return None if row is None or row[0] is None else int(row[0])

        return await self._db.run(select)

    async def mark_delivered(self, row_id: int, *, now_ms: int) -> None:
        await self._set_status(row_id, DELIVERED, now_ms, None)

    async def mark_rejected(self, row_id: int, *, now_ms: int, error: str) -> None:
        """Park an event the cloud refused for good; it stays for an operator to inspect."""
        await self._set_status(row_id, REJECTED, now_ms, error[:500])

    async def _set_status(self, row_id: int, status: str, now_ms: int, error: str | None) -> None:
        def update(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE outbox SET status = ?, done_ms = ?, error = ?, attempts = attempts + 1 WHERE id = ?",
                (status, now_ms, error, row_id),
            )

        await self._db.run(update)

    async def retry_later(self, row_id: int, *, next_try_ms: int, error: str) -> None:
        def update(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_try_ms = ?, error = ? WHERE id = ?",
                (next_try_ms, error[:500], row_id),
            )

        await self._db.run(update)

    async def counts(self) -> OutboxCounts:
        def select(conn: sqlite3.Connection) -> OutboxCounts:
            found = dict(conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall())
            return OutboxCounts(
                pending=found.get(PENDING, 0),
                delivered=found.get(DELIVERED, 0),
                rejected=found.get(REJECTED, 0),
            )

        return await self._db.run(select)

    async def status_of(self, key: str) -> str | None:
        def select(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT status FROM outbox WHERE key = ?", (key,)).fetchone()
            return None if row is None else str(row[0])

        return await self._db.run(select)

    async def prune_delivered(self, *, older_than_ms: int) -> int:
        """Forget delivered events older than the retention (their keys no longer dedupe repeats)."""

        def delete(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "DELETE FROM outbox WHERE status = 'delivered' AND done_ms < ?", (older_than_ms,)
            )
            return cur.rowcount

        return await self._db.run(delete)

    async def make_all_due(self) -> None:
        """The cloud is back: every pending event may be sent now (then priority order decides)."""

        def update(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE outbox SET next_try_ms = 0 WHERE status = 'pending' AND next_try_ms > 0")

        await self._db.run(update)
