"""Incident building: detector events → incident candidates, with dedupe, cooldown and
the cancel policy. Pure: time comes from the events and cancel messages.

* One open incident per (source, kind): an event arriving within the kind's cooldown
  of the incident's last event joins it (``joined``), later ones open a new incident.
* A cancel from the person within :class:`CancelWindow` of the alarm turns the incident
  into ``cancelled`` (an update the cloud records, never a deletion). A cancel after the
  window is reported as ``cancel_late`` and the incident stays open. A cancel that
  arrives before the event it cancels is remembered for the window.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from contracts.intake import Severity
from edge.detection.errors import OutOfOrderError
from edge.detection.events import DetectionEvent, EventKind, Evidence, severity_of

DEFAULT_COOLDOWN_S = 300.0


class IncidentStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


class IncidentAction(StrEnum):
    OPENED = "opened"
    JOINED = "joined"
    CANCELLED = "cancelled"
    CANCEL_LATE = "cancel_late"


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelWindow:
    """Which kinds the person may cancel on the device, and for how long after the alarm."""

    window_s: float = 60.0
    kinds: frozenset[EventKind] = frozenset({EventKind.FALL, EventKind.SOS})

    def allows(self, kind: EventKind, alarm_ms: int, cancel_ms: int) -> bool:
        """True when a cancel at ``cancel_ms`` is in time for an alarm at ``alarm_ms``."""
        return kind in self.kinds and 0 <= cancel_ms - alarm_ms <= self.window_s * 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentCandidate:
    """What the gateway sends to the cloud. ``key`` is stable for the incident's life
    (idempotency key); ``opened_ms`` is the first event's decision time."""

    key: str
    source_id: str
    kind: EventKind
    severity: Severity
    status: IncidentStatus
    onset_ms: int
    opened_ms: int
    updated_ms: int
    event_count: int
    reasons: tuple[str, ...]
    evidence: Evidence = field(default_factory=Evidence)
    cancel_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentUpdate:
    action: IncidentAction
    incident: IncidentCandidate


def _merge(old: Evidence, new: Evidence) -> Evidence:
    """Keep the first impact window; prefer the newest vitals trend and location trail."""
    return Evidence(
        accel=old.accel or new.accel, vitals=new.vitals or old.vitals, trail=new.trail or old.trail
    )


class IncidentBuilder:
    """Turns detector events (and cancels) into incident updates for one gateway."""

    def __init__(
        self,
        *,
        cooldown_s: float | Mapping[EventKind, float] = DEFAULT_COOLDOWN_S,
        cancel_window: CancelWindow | None = None,
    ) -> None:
        self._cooldown = cooldown_s
        self.cancel_window = cancel_window if cancel_window is not None else CancelWindow()
        self._current: dict[tuple[str, EventKind], IncidentCandidate] = {}
        self._pending_cancels: dict[str, int] = {}

    def cooldown_ms(self, kind: EventKind) -> int:
        """Cooldown of ``kind`` in milliseconds."""
        cd = self._cooldown
        seconds = cd.get(kind, DEFAULT_COOLDOWN_S) if isinstance(cd, Mapping) else cd
        return round(seconds * 1000)

    def add(self, event: DetectionEvent) -> list[IncidentUpdate]:
        """Feed one detector event; returns one update, two if a remembered cancel applies."""
        key = (event.source_id, event.kind)
        cur = self._current.get(key)
        if cur is not None and event.t_ms < cur.updated_ms:
            raise OutOfOrderError(f"{event.kind} event at {event.t_ms} ms is older than {cur.updated_ms} ms")
        if (
            cur is not None
            and cur.status is IncidentStatus.OPEN
            and event.t_ms - cur.updated_ms <= self.cooldown_ms(event.kind)
        ):
            joined = dataclasses.replace(
                cur,
                updated_ms=event.t_ms,
                event_count=cur.event_count + 1,
                reasons=cur.reasons if event.reason in cur.reasons else (*cur.reasons, event.reason),
                evidence=_merge(cur.evidence, event.evidence),
            )
            self._current[key] = joined
            return [IncidentUpdate(action=IncidentAction.JOINED, incident=joined)]
        opened = IncidentCandidate(
            key=f"{event.source_id}:{event.kind.value}:{event.t_ms}",
            source_id=event.source_id,
            kind=event.kind,
            severity=severity_of(event.kind),
            status=IncidentStatus.OPEN,
            onset_ms=event.onset_ms,
            opened_ms=event.t_ms,
            updated_ms=event.t_ms,
            event_count=1,
            reasons=(event.reason,),
            evidence=event.evidence,
        )
        self._current[key] = opened
        updates = [IncidentUpdate(action=IncidentAction.OPENED, incident=opened)]
        pending = self._pending_cancels.get(event.source_id)
        if pending is not None and self.cancel_window.allows(event.kind, event.t_ms, pending):
            del self._pending_cancels[event.source_id]
            updates.append(self._cancel(key, opened, pending))
        return updates

    def cancel(self, source_id: str, t_ms: int) -> list[IncidentUpdate]:
        """The person pressed cancel on the device at ``t_ms``.

        Open cancellable incidents of ``source_id`` become ``cancelled`` if the cancel is
        within the window, ``cancel_late`` otherwise. With no such incident yet, the
        cancel is remembered for the window."""
        updates: list[IncidentUpdate] = []
        for key, inc in list(self._current.items()):
            if key[0] != source_id or inc.status is not IncidentStatus.OPEN:
                continue
            if inc.kind not in self.cancel_window.kinds or t_ms < inc.opened_ms:
                continue
            if self.cancel_window.allows(inc.kind, inc.opened_ms, t_ms):
                updates.append(self._cancel(key, inc, t_ms))
            else:
                late = dataclasses.replace(inc, cancel_ms=t_ms, updated_ms=max(inc.updated_ms, t_ms))
                self._current[key] = late
                updates.append(IncidentUpdate(action=IncidentAction.CANCEL_LATE, incident=late))
        if not updates:
            self._pending_cancels[source_id] = t_ms
        return updates

    def current(self, source_id: str, kind: EventKind) -> IncidentCandidate | None:
        """The latest incident for (source, kind), open or cancelled."""
        return self._current.get((source_id, kind))

    def _cancel(self, key: tuple[str, EventKind], inc: IncidentCandidate, t_ms: int) -> IncidentUpdate:
        cancelled = dataclasses.replace(
            inc, status=IncidentStatus.CANCELLED, cancel_ms=t_ms, updated_ms=max(inc.updated_ms, t_ms)
        )
        self._current[key] = cancelled
        return IncidentUpdate(action=IncidentAction.CANCELLED, incident=cancelled)
