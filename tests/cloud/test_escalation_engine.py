"""The pure escalation engine, driven by an injected clock (no I/O, no sleeping)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cloud.escalation import engine
from cloud.escalation.policy import DEFAULT_POLICIES, P1_POLICY, Action, Policy, Step, policy_for
from contracts.intake import Severity

T0 = 1_760_000_000_000


def run_until(
    esc: engine.Escalation, policy: Policy, now_ms: int
) -> tuple[engine.Escalation, list[tuple[int, Action]]]:
    """Fire everything due up to ``now_ms`` in time order, as the scheduler would with a perfect clock."""
    fired: list[tuple[int, Action]] = []
    while True:
        due = engine.due(esc, now_ms=now_ms)
        if not due:
            return esc, fired
        timer = due[0]
        firing = engine.fire(esc, policy, timer, now_ms=timer.due_ms)
        assert firing.action is not None
        fired.append((timer.due_ms - T0, firing.action))
        esc = firing.escalation


def test_unclaimed_p1_realerts_then_supervisor_then_ladder() -> None:
    esc = engine.start(P1_POLICY, opened_ms=T0)
    assert esc.next_due_ms() == T0 + 30_000
    assert engine.due(esc, now_ms=T0 + 29_999) == []
    esc, fired = run_until(esc, P1_POLICY, T0 + 150_000)
    assert fired == [
        (30_000, Action.REALERT_CONSOLES),
        (60_000, Action.REALERT_CONSOLES),
        (60_000, Action.ALERT_SUPERVISOR),
        (90_000, Action.REALERT_CONSOLES),
        (90_000, Action.START_LADDER),
        (120_000, Action.REALERT_CONSOLES),
        (150_000, Action.REALERT_CONSOLES),
    ]
    # the re-alert and the supervisor alert keep repeating until someone owns it; the ladder starts once
    assert {t.action for t in esc.pending} == {Action.REALERT_CONSOLES, Action.ALERT_SUPERVISOR}


def test_a_claim_stops_every_pending_step_at_once() -> None:
    esc = engine.start(P1_POLICY, opened_ms=T0)
    esc, _ = run_until(esc, P1_POLICY, T0 + 45_000)
    stopped = engine.stop(esc, now_ms=T0 + 46_000)
    assert stopped.pending == () and stopped.stopped_ms == T0 + 46_000
    assert engine.due(stopped, now_ms=T0 + 10**9) == []
    stale = esc.pending[0]
    firing = engine.fire(stopped, P1_POLICY, stale, now_ms=T0 + 10**6)
    assert firing.action is None and firing.escalation is stopped
    assert engine.stop(stopped, now_ms=T0 + 99) is stopped


def test_a_late_scheduler_fires_a_repeat_once_not_once_per_missed_round() -> None:
    esc = engine.start(P1_POLICY, opened_ms=T0)
    first = engine.due(esc, now_ms=T0 + 30_000)[0]
    firing = engine.fire(esc, P1_POLICY, first, now_ms=T0 + 125_000)  # down for 95 s
    assert firing.action is Action.REALERT_CONSOLES and firing.late_ms == 95_000
    repeat = next(t for t in firing.escalation.pending if t.action is Action.REALERT_CONSOLES)
    assert repeat.due_ms == T0 + 150_000 and repeat.round == 4


def test_a_timer_not_yet_due_or_not_pending_does_nothing() -> None:
    esc = engine.start(P1_POLICY, opened_ms=T0)
    timer = esc.pending[0]
    assert engine.fire(esc, P1_POLICY, timer, now_ms=T0 + 1).action is None
    foreign = engine.Timer(step=0, action=Action.REALERT_CONSOLES, due_ms=T0, round=7)
    assert engine.fire(esc, P1_POLICY, foreign, now_ms=T0 + 60_000).action is None


def test_late_steps_for_the_auditor() -> None:
    esc = engine.start(P1_POLICY, opened_ms=T0)
    assert engine.late(esc, now_ms=T0 + 34_999) == []
    late = engine.late(esc, now_ms=T0 + 35_000)
    assert [t.action for t in late] == [Action.REALERT_CONSOLES]
    assert engine.late(engine.stop(esc, now_ms=T0), now_ms=T0 + 10**9) == []


def test_policies_per_severity_and_per_person() -> None:
    assert policy_for(Severity.P1) is P1_POLICY
    assert DEFAULT_POLICIES[Severity.P4].steps == ()
    own = Policy(steps=(Step(action=Action.START_LADDER, after_s=10),), ladder_wait_s=60)
    assert policy_for(Severity.P1, overrides={Severity.P1: own}) is own
    assert policy_for(Severity.P2, overrides={Severity.P1: own}) is DEFAULT_POLICIES[Severity.P2]
    assert engine.start(DEFAULT_POLICIES[Severity.P4], opened_ms=T0).next_due_ms() is None


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValidationError):
        Step(action=Action.REALERT_CONSOLES, after_s=-1)
    with pytest.raises(ValidationError):
        Policy.model_validate({"steps": [{"action": "launch_rockets", "after_s": 1}]})
    with pytest.raises(ValidationError):
        Policy.model_validate({"steps": [], "surprise": 1})
