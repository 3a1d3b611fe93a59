"""The guardian ladder, pure: whom to contact, on which channel, and what moves it on. No I/O.

Contacts in order: the subject's family guardians (by priority); for a person without any, the case
workers the district assigns — the community grid worker (网格员) for an elder, the children's director
(儿童主任) for a child. Every contact is tried by SMS first, then every contact by voice call
(``sms`` and ``voice`` name a channel of the ``Notifier`` port; an adapter plugs in without this
module knowing). A rung moves on when its contact does not answer within the policy's wait, answers
``2`` ("can't — next contact"), or the provider reports the message undelivered/failed. An answer
``1`` ("I'm going") ends the ladder. Rungs whose contact was already reached on that channel (the
edge texts guardians itself when the center is unreachable) are skipped.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum


class Channel(StrEnum):
    SMS = "sms"
    VOICE = "voice"


class ContactRole(StrEnum):
    GUARDIAN = "guardian"
    GRID_WORKER = "grid_worker"  # 网格员
    CHILDREN_DIRECTOR = "children_director"  # 儿童主任


class LadderStatus(StrEnum):
    RUNNING = "running"
    GOING = "going"  # a contact answered "I'm going"
    EXHAUSTED = "exhausted"  # every rung tried, nobody is going
    STOPPED = "stopped"  # an operator owns the incident


class Advance(StrEnum):
    """Why a rung ends."""

    NO_ANSWER = "no_answer"
    DECLINED = "declined"  # the contact answered 2
    UNDELIVERED = "undelivered"  # the provider reported undelivered / failed


CHANNEL_ORDER = (Channel.SMS, Channel.VOICE)


@dataclass(frozen=True, slots=True)
class Contact:
    key: str  # "guardian:12", "worker:3": stable and opaque
    role: ContactRole
    phone: str  # E.164; never logged, never shown unmasked without a reveal
    language: str
    label: str  # relation or role, shown on the timeline (女儿, 网格员): never the name


@dataclass(frozen=True, slots=True)
class Rung:
    index: int
    contact: Contact
    channel: Channel


@dataclass(frozen=True, slots=True)
class Ladder:
    rungs: tuple[Rung, ...]
    index: int = -1  # the current rung; -1 before it starts
    status: LadderStatus = LadderStatus.RUNNING
    rung_started_ms: int | None = None

    @property
    def current(self) -> Rung | None:
        if self.status is not LadderStatus.RUNNING or not 0 <= self.index < len(self.rungs):
            return None
        return self.rungs[self.index]


@dataclass(frozen=True, slots=True)
class Move:
    ladder: Ladder
    rung: Rung | None  # the rung to contact now (None: nothing to send)
    skipped: tuple[Rung, ...] = ()  # rungs passed over because they were already reached


def contacts_for(
    *, subject_kind: str, guardians: Sequence[Contact], case_workers: Sequence[Contact]
) -> tuple[Contact, ...]:
    """Family guardians in their order; for a person without any, the district's case workers."""
    if guardians:
        return tuple(guardians)
    wanted = ContactRole.CHILDREN_DIRECTOR if subject_kind == "child" else ContactRole.GRID_WORKER
    return tuple(c for c in case_workers if c.role is wanted)


def build(contacts: Sequence[Contact], channels: Sequence[Channel] = CHANNEL_ORDER) -> Ladder:
    """Every contact by the first channel, then every contact by the next one."""
    rungs = [(contact, channel) for channel in channels for contact in contacts]
    return Ladder(rungs=tuple(Rung(i, c, ch) for i, (c, ch) in enumerate(rungs)))


def _next(ladder: Ladder, start: int, now_ms: int, reached: Collection[tuple[str, str]]) -> Move:
    skipped = []
    for rung in ladder.rungs[start:]:
        if (rung.contact.key, rung.channel.value) in reached:
            skipped.append(rung)
            continue
        moved = replace(ladder, index=rung.index, rung_started_ms=now_ms)
        return Move(ladder=moved, rung=rung, skipped=tuple(skipped))
    exhausted = replace(ladder, index=len(ladder.rungs), status=LadderStatus.EXHAUSTED, rung_started_ms=None)
    return Move(ladder=exhausted, rung=None, skipped=tuple(skipped))


def begin(ladder: Ladder, *, now_ms: int, reached: Collection[tuple[str, str]] = ()) -> Move:
    """Start at the first rung not yet reached. ``reached``: ``(contact key, channel)`` pairs."""
    if ladder.index >= 0 or ladder.status is not LadderStatus.RUNNING:
        return Move(ladder=ladder, rung=None)
    return _next(ladder, 0, now_ms, reached)


def advance(
    ladder: Ladder,
    *,
    rung_index: int,
    reason: Advance,
    now_ms: int,
    reached: Collection[tuple[str, str]] = (),
) -> Move:
    """End rung ``rung_index`` for ``reason`` and move to the next one not yet reached.

    Stale news (a timeout or a failure report about a rung the ladder already left, or a ladder that
    has finished) changes nothing.
    """
    del reason  # every reason moves on the same way; the caller puts it on the timeline
    if ladder.status is not LadderStatus.RUNNING or rung_index != ladder.index:
        return Move(ladder=ladder, rung=None)
    return _next(ladder, ladder.index + 1, now_ms, reached)


def going(ladder: Ladder) -> Ladder:
    """A contact answered "I'm going": the ladder ends."""
    if ladder.status is not LadderStatus.RUNNING:
        return ladder
    return replace(ladder, status=LadderStatus.GOING, rung_started_ms=None)


def stop(ladder: Ladder) -> Ladder:
    """An operator owns the incident: the ladder ends where it is."""
    if ladder.status is not LadderStatus.RUNNING:
        return ladder
    return replace(ladder, status=LadderStatus.STOPPED, rung_started_ms=None)


def rung_of_contact(ladder: Ladder, contact_key: str) -> Rung | None:
    """The current rung if it belongs to ``contact_key`` (a "2" from someone else moves nothing)."""
    rung = ladder.current
    return rung if rung is not None and rung.contact.key == contact_key else None
