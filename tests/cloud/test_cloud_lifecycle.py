"""Pure domain tests: incident lifecycle, fusion rules, masking, SMS templates, session tokens."""

from __future__ import annotations

import pytest

from cloud.auth.tokens import PasswordHash, SessionSigner
from cloud.incidents import lifecycle
from cloud.incidents.lifecycle import (
    IllegalTransitionError,
    IncidentKind,
    LifecycleState,
    Outcome,
    Status,
)
from cloud.notify.templates import alert_text
from cloud.phones import mask_phone
from cloud.registry.models import mask_name
from contracts.intake import EventKind, Severity

NOW = 1_760_000_000_000


def test_happy_path_sets_every_sla_timestamp() -> None:
    state = LifecycleState(status=Status.NEW)
    state = lifecycle.acknowledge(state, operator="op-7", eta_min=12, now_ms=NOW + 1)
    assert (state.status, state.acknowledged_at, state.acknowledged_by, state.eta_min) == (
        Status.ACKNOWLEDGED,
        NOW + 1,
        "op-7",
        12,
    )
    state = lifecycle.dispatch(state, responder="网格员 A", now_ms=NOW + 2)
    assert (state.status, state.dispatched_at, state.responder) == (Status.DISPATCHED, NOW + 2, "网格员 A")
    state = lifecycle.resolve(state, outcome=Outcome.HELPED_ON_SITE, now_ms=NOW + 3)
    assert (state.status, state.resolved_at, state.outcome) == (Status.RESOLVED, NOW + 3, "helped_on_site")


@pytest.mark.parametrize("closed", sorted(lifecycle.CLOSED_STATUSES))
def test_closed_incidents_accept_no_transition(closed: Status) -> None:
    state = LifecycleState(status=closed)
    with pytest.raises(IllegalTransitionError):
        lifecycle.acknowledge(state, operator="op", eta_min=None, now_ms=NOW)
    with pytest.raises(IllegalTransitionError):
        lifecycle.cancel(state, now_ms=NOW)
    with pytest.raises(IllegalTransitionError):
        lifecycle.mark_false_alarm(state, now_ms=NOW)


def test_new_incident_must_be_acknowledged_before_dispatch_or_resolve() -> None:
    state = LifecycleState(status=Status.NEW)
    with pytest.raises(IllegalTransitionError, match="new cannot become dispatched"):
        lifecycle.dispatch(state, responder=None, now_ms=NOW)
    with pytest.raises(IllegalTransitionError):
        lifecycle.resolve(state, outcome=Outcome.OTHER, now_ms=NOW)
    with pytest.raises(IllegalTransitionError):
        lifecycle.acknowledge(
            lifecycle.acknowledge(state, operator="a", eta_min=None, now_ms=NOW),
            operator="b",
            eta_min=None,
            now_ms=NOW,
        )


@pytest.mark.parametrize("status", [Status.NEW, Status.ACKNOWLEDGED, Status.DISPATCHED])
def test_device_cancel_and_false_alarm_close_any_open_incident(status: Status) -> None:
    cancelled = lifecycle.cancel(LifecycleState(status=status), now_ms=NOW)
    assert (cancelled.status, cancelled.outcome, cancelled.resolved_at) == (
        Status.CANCELLED,
        lifecycle.CANCELLED_OUTCOME,
        NOW,
    )
    false = lifecycle.mark_false_alarm(LifecycleState(status=status), now_ms=NOW)
    assert false.status is Status.FALSE_ALARM


def test_transition_table_is_consistent() -> None:
    assert set(lifecycle.TRANSITIONS) == set(Status)
    for status in lifecycle.CLOSED_STATUSES:
        assert not lifecycle.TRANSITIONS[status]
    assert set(Status) == lifecycle.OPEN_STATUSES | lifecycle.CLOSED_STATUSES


def test_fusion_slot_is_the_kind_while_open_and_empty_once_closed() -> None:
    assert lifecycle.fusion_key(IncidentKind.SOS, Status.ACKNOWLEDGED) == "sos"
    assert lifecycle.fusion_key(IncidentKind.SOS, Status.RESOLVED) is None


def test_event_kinds_map_to_incident_kinds() -> None:
    assert lifecycle.incident_kind_of(EventKind.FALL) is lifecycle.incident_kind_of(EventKind.FALL_DEVICE)
    assert lifecycle.incident_kind_of(EventKind.HR_HIGH) is IncidentKind.VITALS
    with pytest.raises(KeyError):
        lifecycle.incident_kind_of(EventKind.SOS_CANCEL)
    assert set(lifecycle.KIND_OF_EVENT) == set(EventKind) - {EventKind.SOS_CANCEL}


def test_severity_only_rises() -> None:
    assert lifecycle.higher_severity(Severity.P3, Severity.P1) is Severity.P1
    assert lifecycle.higher_severity(Severity.P1, Severity.P4) is Severity.P1
    assert lifecycle.should_notify_guardians(Severity.P2)
    assert not lifecycle.should_notify_guardians(Severity.P3)


@pytest.mark.parametrize(
    ("name", "masked"),
    [("王秀英", "王**"), ("欧阳明华", "欧阳**"), ("李", "李**"), ("Mary Smith", "Smith**"), ("", "**")],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_alert_text_is_short_and_privacy_safe() -> None:
    at = 1_760_000_000_000  # 2025-10-09 16:53:20 CST
    zh = alert_text(language="zh", masked_name="王**", device_kind="sos_card", incident_kind="sos", at_ms=at)
    # until an operator claims it: "alarm raised", never "the center has accepted"
    assert (
        zh == "【安心】您的家人王**的助老卡于16:53发出紧急求助，已发出警报。"
        "回复1表示您正前往，回复2表示无法前往。"
    )
    en = alert_text(language="en", masked_name="王**", device_kind="wearable", incident_kind="fall", at_ms=at)
    assert en.startswith(
        "[Anxin] Alarm raised: the wearable alarm of your family member 王** "
        "detected a possible fall at 16:53."
    )
    assert "受理" not in zh and "on it" not in en
    assert len(zh) <= 70


def test_mask_phone_keeps_only_prefix_and_last_digits() -> None:
    assert mask_phone("+8613800001234") == "+86138****1234"


def test_session_tokens_verify_expire_and_resist_tampering() -> None:
    signer = SessionSigner(b"k" * 32)
    value = signer.sign("operator", now_s=1000, ttl_s=60)
    assert signer.verify(value, now_s=1059) == "operator"
    assert signer.verify(value, now_s=1060) is None
    payload, mac = value.split(".")
    assert signer.verify(payload + "." + mac[:-2] + "AA", now_s=1000) is None
    assert SessionSigner(b"x" * 32).verify(value, now_s=1000) is None
    assert signer.verify("garbage", now_s=1000) is None


def test_password_hash() -> None:
    hashed = PasswordHash.create("correct horse")
    assert hashed.matches("correct horse")
    assert not hashed.matches("correct horsE")


def test_login_throttle_blocks_after_repeated_failures_then_forgets() -> None:
    from cloud.auth.throttle import LoginThrottle

    throttle = LoginThrottle(max_failures=3, window_ms=1_000, max_clients=2)
    for t in range(3):
        assert not throttle.blocked("a", now_ms=t)
        throttle.record_failure("a", now_ms=t)
    assert throttle.blocked("a", now_ms=10)
    assert not throttle.blocked("b", now_ms=10)
    assert not throttle.blocked("a", now_ms=1_001)  # the first failure left the window
    throttle.record_failure("b", now_ms=5)
    throttle.record_failure("c", now_ms=5)  # over max_clients: the oldest client is forgotten
    throttle.reset("c")
    assert not throttle.blocked("c", now_ms=6)
