"""The durable outbox: every event the cloud must get, kept on disk until the cloud confirmed it.

Rows are unique by event key (device id + boot + seq), so a repeated alarm is stored once. ``digest`` is
the identity of the device message that caused the event: a copy (same digest) is not stored again; a
*different* message under a taken key (old firmware whose counter restarted) is stored under its variant
key (``contracts.identity.variant_key``), never dropped as a copy. ``priority`` is the
severity number (1 = P1). The forwarder asks for the *head* (oldest pending event) of each device,
ordering devices by the most urgent event they have pending: P1 alarms go first, and a device's events
still reach the cloud in the order they happened.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import orjson

from contracts import EdgeEvent, encode
from contracts.identity import variant_key
from edge.database import Database

PENDING = "pending"
DELIVERED = "delivered"
REJECTED = "rejected"


def priority_of(event: EdgeEvent) -> int:
    return int(event.severity.value[1:])


def _same_message(event: EdgeEvent, digest: str | None, body: bytes) -> bool:
    """Is ``event`` a copy of the stored row? By digest; rows from before digests: by kind and clock."""
    if digest is not None:
        return digest == event.digest
    stored = orjson.loads(body)
    return bool(stored.get("kind") == event.kind.value and stored.get("device_ts") == event.device_ts)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    key: str
    device_id: str
    priority: int
    body: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class Stored:
    """Where an event is in the outbox; ``new`` is False for a copy of a stored message."""

    key: str
    new: bool


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """A P1 alarm the cloud has not confirmed yet (what degraded mode looks at)."""

    id: int
    key: str
    device_id: str
    kind: str
    created_ms: int
    body: bytes


_UNCONFIRMED = (
    "WHERE status = 'pending' AND priority = 1 AND kind IN ('sos', 'fall', 'fall_device')"
    " AND edge_notified_ms IS NULL"
)


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    pending: int
    delivered: int
    rejected: int


class Outbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, event: EdgeEvent, *, now_ms: int) -> Stored:
        """Store ``event`` durably (committed and fsynced on return), unless it is a copy of a stored one."""

        def insert(conn: sqlite3.Connection) -> Stored:
            placed = event
            if event.digest is not None:
                row = conn.execute("SELECT digest, body FROM outbox WHERE key = ?", (event.key,)).fetchone()
                if row is not None and not _same_message(event, row[0], row[1]):
                    placed = event.model_copy(update={"key": variant_key(event.key, event.digest)})
            cur = conn.execute(
                "INSERT OR IGNORE INTO outbox (key, device_id, priority, kind, body, created_ms, digest)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    placed.key,
                    event.device_id,
                    priority_of(event),
                    event.kind.value,
                    encode(placed),
                    now_ms,
                    event.digest,
                ),
            )
            return Stored(placed.key, cur.rowcount == 1)

        return await self._db.run(insert, urgent=True)

    async def reroute_unassigned(self, row_id: int, body: bytes, *, now_ms: int) -> EdgeEvent | None:
        """The cloud refused the alarm as not this gateway's: send it again flagged ``unassigned`` (the
        center then shows an unassigned alarm). None if the row is not an alarm that can be rerouted."""
        event = EdgeEvent.model_validate_json(body)
        if event.unassigned:
            return None
        flagged = event.model_copy(update={"unassigned": True})

        def update(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE outbox SET body = ?, attempts = attempts + 1, next_try_ms = 0, error = ?"
                " WHERE id = ?",
                (encode(flagged), "refused as another gateway's device: sent as unassigned", row_id),
            )

        await self._db.run(update, urgent=True)
        return flagged

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

        return await self._db.run(select, urgent=True)

    async def next_due_ms(self) -> int | None:
        """When the earliest pending head becomes due (None if nothing is pending)."""

        def select(conn: sqlite3.Connection) -> int | None:
            row = conn.execute(
                "SELECT MIN(o.next_try_ms) FROM outbox o JOIN (SELECT MIN(id) AS head_id FROM outbox"
                " WHERE status = 'pending' GROUP BY device_id) h ON o.id = h.head_id"
            ).fetchone()
            return None if row is None or row[0] is None else int(row[0])

        return await self._db.run(select, urgent=True)

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

        await self._db.run(update, urgent=True)

    async def retry_later(self, row_id: int, *, next_try_ms: int, error: str) -> None:
        def update(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_try_ms = ?, error = ? WHERE id = ?",
                (next_try_ms, error[:500], row_id),
            )

        await self._db.run(update, urgent=True)

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

    # -- degraded mode ------------------------------------------------------------------------------
    async def pending_row(self, row_id: int) -> OutboxRow | None:
        """The row as it is now, if it is still pending."""

        def select(conn: sqlite3.Connection) -> OutboxRow | None:
            row = conn.execute(
                "SELECT id, key, device_id, priority, body, attempts FROM outbox"
                " WHERE id = ? AND status = 'pending'",
                (row_id,),
            ).fetchone()
            return None if row is None else OutboxRow(*row)

        return await self._db.run(select, urgent=True)

    async def unconfirmed_alarms(
        self, *, created_before_ms: int, limit: int, after_id: int = 0
    ) -> list[AlarmRow]:
        """P1 alarms still pending, stored before ``created_before_ms``, that degraded mode has not
        finished with (``edge_notified_ms`` unset), oldest first (from ``after_id`` on: pages)."""

        def select(conn: sqlite3.Connection) -> list[AlarmRow]:
            rows = conn.execute(
                f"SELECT id, key, device_id, kind, created_ms, body FROM outbox {_UNCONFIRMED}"
                " AND created_ms <= ? AND id > ? ORDER BY id LIMIT ?",
                (created_before_ms, after_id, limit),
            ).fetchall()
            return [AlarmRow(*row) for row in rows]

        return await self._db.run(select)

    async def first_unconfirmed_alarm_ms(self) -> int | None:
        """When the oldest alarm degraded mode may still have to act on was stored."""

        def select(conn: sqlite3.Connection) -> int | None:
            row = conn.execute(f"SELECT MIN(created_ms) FROM outbox {_UNCONFIRMED}").fetchone()
            return None if row is None or row[0] is None else int(row[0])

        return await self._db.run(select)

    async def cancelled(self, key: str) -> bool:
        """Did the person cancel the alarm ``key`` on the device (a ``sos_cancel`` naming it is stored)?"""

        def select(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT 1 FROM outbox WHERE kind = 'sos_cancel'"
                " AND json_extract(CAST(body AS TEXT), '$.ref_key') = ? LIMIT 1",
                (key,),
            ).fetchone()
            return row is not None

        return await self._db.run(select)

    async def note_edge_notified(self, row_id: int, *, body: bytes | None, finished_ms: int | None) -> None:
        """Degraded mode texted guardians for this alarm: ``body`` now names them (the cloud will not
        text them again); ``finished_ms`` once it has nothing left to do for it."""

        def update(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE outbox SET body = COALESCE(?, body), edge_notified_ms = ? WHERE id = ?",
                (body, finished_ms, row_id),
            )

        await self._db.run(update)
