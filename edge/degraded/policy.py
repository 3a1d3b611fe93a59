"""Degraded-mode decisions (pure: rows and time in, decisions out).

An alarm is *overdue* when it is a P1 alarm (SOS, fall) still pending in the outbox ``delay`` after the
gateway stored it: the center has not confirmed it, so the edge texts the person's guardians itself.
Each guardian is texted at most once per alarm; a failed SMS is tried again (``retry_s`` apart, at most
``MAX_ATTEMPTS`` times) unless the provider said it can never succeed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from contracts import EventKind
from contracts.guardians import EdgeNotice, GuardianContact

ALARM_KINDS = frozenset({EventKind.SOS.value, EventKind.FALL.value, EventKind.FALL_DEVICE.value})
MAX_ATTEMPTS = 5

SENDING, SENT, FAILED = "sending", "sent", "failed"


@dataclass(frozen=True, slots=True)
class SmsRecord:
    """What the edge did for one (alarm, guardian): ``sending`` (before the provider call), ``sent``,
    ``failed`` (given up) — or still ``sending`` with ``next_try_ms`` after a retryable failure."""

    guardian_id: int
    status: str
    attempts: int
    next_try_ms: int
    sent_ms: int | None


def is_overdue(*, kind: str, priority: int, created_ms: int, now_ms: int, delay_ms: int) -> bool:
    return priority == 1 and kind in ALARM_KINDS and now_ms - created_ms >= delay_ms


def due_guardians(
    guardians: Sequence[GuardianContact], records: Iterable[SmsRecord], *, now_ms: int
) -> list[GuardianContact]:
    """The guardians to text now, in priority order: never texted, or a retry that is due.

    A record still ``sending`` with no failure recorded (``attempts == 0`` after a crash mid-send) is
    due again: at least once, as the center's own SMS outbox does.
    """
    by_id = {r.guardian_id: r for r in records}
    due = []
    for guardian in sorted(guardians, key=lambda g: (g.priority, g.guardian_id)):
        record = by_id.get(guardian.guardian_id)
        if record is None or (
            record.status == SENDING and record.attempts < MAX_ATTEMPTS and record.next_try_ms <= now_ms
        ):
            due.append(guardian)
    return due


def finished(guardians: Sequence[GuardianContact], records: Iterable[SmsRecord]) -> bool:
    """Every guardian was texted or given up on."""
    done = {r.guardian_id for r in records if r.status in (SENT, FAILED)}
    return all(g.guardian_id in done for g in guardians)


def notices(records: Iterable[SmsRecord]) -> list[EdgeNotice]:
    """What the cloud must know: the guardians the edge did text (``at_ms`` = when)."""
    return [
        EdgeNotice(guardian_id=r.guardian_id, at_ms=r.sent_ms)
        for r in sorted(records, key=lambda r: r.guardian_id)
        if r.status == SENT and r.sent_ms is not None
    ]
