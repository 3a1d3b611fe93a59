"""Pure access rules: roles, street scope, the login guard, argon2 password hashes."""

from __future__ import annotations

from cloud.auth.access import Role, Staff
from cloud.auth.passwords import Passwords
from cloud.auth.throttle import LoginGuard

T0 = 1_760_000_000_000


def test_roles_are_ordered_and_scope_is_one_several_or_all_streets() -> None:
    two = Staff(id=1, username="op-two", display_name="", role=Role.OPERATOR, streets=frozenset({1, 2}))
    everyone = Staff(id=2, username="sup", display_name="", role=Role.SUPERVISOR, streets=None)
    assert two.sees_street(1) and not two.sees_street(3) and not two.sees_street(None)
    assert everyone.sees_street(3) and everyone.sees_street(None)
    assert everyone.at_least(Role.OPERATOR) and everyone.at_least(Role.SUPERVISOR)
    assert not everyone.at_least(Role.ADMIN) and not two.at_least(Role.SUPERVISOR)


def test_the_login_guard_blocks_a_person_an_account_or_an_address_but_not_the_room() -> None:
    guard = LoginGuard()
    for _ in range(10):
        guard.record_failure(address="10.0.0.9", username="op-all", now_ms=T0)
    assert guard.blocked(address="10.0.0.9", username="OP-ALL", now_ms=T0) == "pair"
    assert guard.blocked(address="10.0.0.9", username="op-two", now_ms=T0) is None  # the room goes on
    assert guard.blocked(address="10.0.0.9", username="op-all", now_ms=T0 + 5 * 60_000) is None
    for i in range(20):  # the same account guessed from many addresses
        guard.record_failure(address=f"192.0.2.{i}", username="supervisor", now_ms=T0)
    assert guard.blocked(address="198.51.100.1", username="supervisor", now_ms=T0) == "account"
    for i in range(100):  # one address spraying many accounts
        guard.record_failure(address="203.0.113.5", username=f"user{i}", now_ms=T0)
    assert guard.blocked(address="203.0.113.5", username="fresh", now_ms=T0) == "address"
    guard.succeeded(address="10.0.0.9", username="op-all")
    assert guard.blocked(address="10.0.0.9", username="op-all", now_ms=T0) is None


def test_argon2id_hashes_verify_and_an_unknown_user_is_checked_against_a_dummy() -> None:
    passwords = Passwords(memory_kib=8192, time_cost=1)
    encoded = passwords.hash("a-good-password")
    assert encoded.startswith("$argon2id$")
    assert passwords.verify(encoded, "a-good-password")
    assert not passwords.verify(encoded, "a-bad-password")
    assert not passwords.verify(None, "anything")
    assert not passwords.verify("not-a-hash", "anything")
