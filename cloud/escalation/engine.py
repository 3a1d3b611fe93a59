"""The escalation state machine, pure: timers in, actions out, time passed in. No I/O.

An open, unclaimed incident has an :class:`Escalation`: the pending timers of its policy's steps.
:func:`fire` takes one due timer, says which action to take now and schedules the step's repeat;
:func:`stop` (a human owns it: an operator's claim or a guardian's "I'm going") drops every pending
timer at once. The scheduler adapter (``cloud/escalation/scheduler.py``) persists the timers, so an
escalation survives a restart: it is rebuilt from the rows with :class:`Escalation` itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cloud.escalation.policy import Action, Policy

LATE_GRACE_MS = 5_000  # a step this late (or later) shows on the auditor's list and metric


@dataclass(frozen=True, slots=True)
class Timer:
    step: int  # index into the policy's steps
    action: Action
    due_ms: int
    round: int = 0  # 0 = first time, 1, 2 … = repeats


@dataclass(frozen=True, slots=True)
class Escalation:
    opened_ms: int
    pending: tuple[Timer, ...] = ()
    stopped_ms: int | None = None

    @property
    def stopped(self) -> bool:
        return self.stopped_ms is not None

    def next_due_ms(self) -> int | None:
        return min((t.due_ms for t in self.pending), default=None)


@dataclass(frozen=True, slots=True)
class Firing:
    escalation: Escalation
    action: Action | None  # None: the timer was stale (already stopped or no longer pending)
    timer: Timer
    late_ms: int  # how late the scheduler fired it


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def start(policy: Policy, *, opened_ms: int) -> Escalation:
    """The escalation of an incident opened at ``opened_ms`` (the cloud's receipt time)."""
    timers = tuple(
        Timer(step=i, action=step.action, due_ms=opened_ms + _ms(step.after_s))
        for i, step in enumerate(policy.steps)
    )
    return Escalation(opened_ms=opened_ms, pending=timers)


def due(escalation: Escalation, *, now_ms: int) -> list[Timer]:
    """The pending timers whose time has come, earliest first."""
    return sorted((t for t in escalation.pending if t.due_ms <= now_ms), key=lambda t: (t.due_ms, t.step))


def fire(escalation: Escalation, policy: Policy, timer: Timer, *, now_ms: int) -> Firing:
    """Take ``timer`` (due at or before ``now_ms``): the action to run and the escalation after it.

    A repeating step is rescheduled on its own grid (due + k·repeat), skipping rounds the scheduler
    missed (after a restart the consoles re-alert once, not once per missed round).
    """
    late_ms = max(0, now_ms - timer.due_ms)
    if escalation.stopped or timer not in escalation.pending or timer.due_ms > now_ms:
        return Firing(escalation=escalation, action=None, timer=timer, late_ms=late_ms)
    rest = tuple(t for t in escalation.pending if t != timer)
    repeat_s = policy.step(timer.step).repeat_s if timer.step < len(policy.steps) else None
    if repeat_s is not None:
        period = _ms(repeat_s)
        missed = (now_ms - timer.due_ms) // period
        rest += (replace(timer, due_ms=timer.due_ms + (missed + 1) * period, round=timer.round + 1 + missed),)
    return Firing(
        escalation=replace(escalation, pending=rest), action=timer.action, timer=timer, late_ms=late_ms
    )


def stop(escalation: Escalation, *, now_ms: int) -> Escalation:
    """A human owns the incident: every pending step is dropped at once."""
    if escalation.stopped:
        return escalation
    return replace(escalation, pending=(), stopped_ms=now_ms)


def late(escalation: Escalation, *, now_ms: int, grace_ms: int = LATE_GRACE_MS) -> list[Timer]:
    """Pending timers overdue by at least ``grace_ms``: the scheduler is behind (auditor's view)."""
    return [t for t in escalation.pending if now_ms - t.due_ms >= grace_ms]
