"""The pure guardian ladder and the per-recipient message budget."""

from __future__ import annotations

from cloud.escalation import ladder
from cloud.escalation.ladder import Advance, Channel, Contact, ContactRole, LadderStatus
from cloud.notify.rate_limit import Budget

T0 = 1_760_000_000_000
DAUGHTER = Contact("guardian:1", ContactRole.GUARDIAN, "+8613800000001", "zh", "女儿")
SON = Contact("guardian:2", ContactRole.GUARDIAN, "+8613800000002", "zh", "儿子")
GRID = Contact("worker:1", ContactRole.GRID_WORKER, "+8613800000009", "zh", "网格员")
DIRECTOR = Contact("worker:2", ContactRole.CHILDREN_DIRECTOR, "+8613800000008", "zh", "儿童主任")


def test_contacts_are_family_first_then_the_districts_case_workers() -> None:
    workers = (GRID, DIRECTOR)
    assert ladder.contacts_for(subject_kind="elder", guardians=(DAUGHTER, SON), case_workers=workers) == (
        DAUGHTER,
        SON,
    )
    assert ladder.contacts_for(subject_kind="elder", guardians=(), case_workers=workers) == (GRID,)
    assert ladder.contacts_for(subject_kind="child", guardians=(), case_workers=workers) == (DIRECTOR,)


def test_every_contact_by_sms_then_every_contact_by_voice() -> None:
    built = ladder.build((DAUGHTER, SON))
    assert [(r.contact.label, r.channel) for r in built.rungs] == [
        ("女儿", Channel.SMS),
        ("儿子", Channel.SMS),
        ("女儿", Channel.VOICE),
        ("儿子", Channel.VOICE),
    ]


def test_no_answer_declined_and_undelivered_move_on_until_exhausted() -> None:
    move = ladder.begin(ladder.build((DAUGHTER, SON)), now_ms=T0)
    assert move.rung is not None and move.rung.contact is DAUGHTER and move.rung.channel is Channel.SMS
    move = ladder.advance(move.ladder, rung_index=0, reason=Advance.NO_ANSWER, now_ms=T0 + 1)
    assert move.rung is not None and (move.rung.contact, move.rung.channel) == (SON, Channel.SMS)
    move = ladder.advance(move.ladder, rung_index=1, reason=Advance.DECLINED, now_ms=T0 + 2)
    assert move.rung is not None and (move.rung.contact, move.rung.channel) == (DAUGHTER, Channel.VOICE)
    move = ladder.advance(move.ladder, rung_index=2, reason=Advance.UNDELIVERED, now_ms=T0 + 3)
    move = ladder.advance(move.ladder, rung_index=3, reason=Advance.NO_ANSWER, now_ms=T0 + 4)
    assert move.rung is None and move.ladder.status is LadderStatus.EXHAUSTED and move.ladder.current is None


def test_stale_news_about_a_rung_already_left_changes_nothing() -> None:
    move = ladder.begin(ladder.build((DAUGHTER, SON)), now_ms=T0)
    moved = ladder.advance(move.ladder, rung_index=0, reason=Advance.NO_ANSWER, now_ms=T0 + 1)
    late_failure = ladder.advance(moved.ladder, rung_index=0, reason=Advance.UNDELIVERED, now_ms=T0 + 2)
    assert late_failure.rung is None and late_failure.ladder is moved.ladder
    assert ladder.begin(moved.ladder, now_ms=T0 + 3).rung is None  # begins once


def test_going_and_stop_end_the_ladder() -> None:
    move = ladder.begin(ladder.build((DAUGHTER,)), now_ms=T0)
    gone = ladder.going(move.ladder)
    assert gone.status is LadderStatus.GOING and gone.current is None
    assert ladder.advance(gone, rung_index=0, reason=Advance.NO_ANSWER, now_ms=T0).rung is None
    assert ladder.stop(gone) is gone
    assert ladder.stop(move.ladder).status is LadderStatus.STOPPED
    assert ladder.rung_of_contact(move.ladder, "guardian:1") == move.rung
    assert ladder.rung_of_contact(move.ladder, "guardian:2") is None


def test_rungs_already_reached_by_the_edge_are_skipped() -> None:
    reached = {("guardian:1", "sms")}
    move = ladder.begin(ladder.build((DAUGHTER, SON)), now_ms=T0, reached=reached)
    assert move.rung is not None and move.rung.contact is SON
    assert [r.contact for r in move.skipped] == [DAUGHTER]


def test_budget_five_per_ten_minutes_then_the_next_slot() -> None:
    budget = Budget(limit=5, window_ms=600_000)
    sent: list[int] = []
    for i in range(5):
        assert budget.admits(sent, now_ms=T0 + i * 1000)
        sent.append(T0 + i * 1000)
    assert not budget.admits(sent, now_ms=T0 + 5000)
    assert budget.next_slot(sent, now_ms=T0 + 5000) == T0 + 600_000
    assert budget.admits(sent, now_ms=T0 + 600_000)
    # any window of 10 minutes holds at most 5, also across the boundary
    sent.append(budget.next_slot(sent, now_ms=T0 + 5000))
    assert budget.next_slot(sent, now_ms=T0 + 600_001) == T0 + 601_000


def test_budget_counts_only_the_recent_past() -> None:
    budget = Budget()
    old = [T0 - 3_600_000 + i for i in range(20)]
    assert budget.admits(old, now_ms=T0)
