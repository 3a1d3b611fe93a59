"""The fleet clock (pure): median device time, robust to skewed clocks, wall-rate when traffic is thin."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.detection.fleet_clock import FleetClock

WALL = 1_700_000_000_000  # the gateway's clock
SIM = 1_772_416_800_000  # device time (a simulated Monday morning), far from the wall clock
HOUR = 3_600_000


def test_nothing_heard_is_the_wall_clock_and_does_not_anchor() -> None:
    clock = FleetClock()
    assert clock.now(WALL) == WALL
    clock.observe("a", SIM, WALL + 10)  # the first device still sets the clock
    assert clock.now(WALL + 10) == SIM


def test_a_few_skewed_clocks_do_not_move_the_median() -> None:
    clock = FleetClock()
    for n in range(10):
        clock.observe(f"ok-{n}", SIM + n * 100, WALL + n * 100)
    clock.observe("ahead-1", SIM + 24 * HOUR, WALL + 1_000)
    clock.observe("ahead-2", SIM + 365 * 24 * HOUR, WALL + 1_000)
    clock.observe("behind", SIM - 5 * HOUR, WALL + 1_000)
    assert abs(clock.now(WALL + 1_000) - (SIM + 1_000)) <= 100
    assert not clock.thin


def test_a_chatty_device_counts_once() -> None:
    clock = FleetClock()
    for n in range(5):
        clock.observe(f"ok-{n}", SIM, WALL)
    for n in range(200):  # one device with a clock an hour ahead floods the gateway
        clock.observe("chatty", SIM + HOUR + n, WALL + n)
    assert abs(clock.now(WALL + 200) - (SIM + 200)) <= 10


def test_speed_up_is_followed() -> None:
    """A simulation at 600×: ten wall seconds are 100 simulated minutes."""
    clock = FleetClock()
    speed, devices = 600, 8
    for step in range(1_000):  # one message every 10 ms wall, round robin over the devices
        wall = WALL + step * 10
        clock.observe(f"d-{step % devices}", SIM + (wall - WALL) * speed, wall)
    now = clock.now(WALL + 10_000)
    assert abs(now - (SIM + 10_000 * speed)) <= 100 * speed  # lags by about one round of the devices
    assert not clock.thin


def test_thin_traffic_goes_on_at_wall_rate_from_the_last_estimate() -> None:
    clock = FleetClock(min_devices=3, fresh_ms=10_000)
    for n in range(3):
        clock.observe(f"d-{n}", SIM, WALL)
    assert clock.now(WALL) == SIM
    later = WALL + 60_000  # every device went quiet for a minute
    assert clock.now(later) == SIM + 60_000 and clock.thin
    clock.observe("d-0", SIM + 600_000, later)  # one device alone does not make a fleet
    assert clock.now(later + 1_000) == SIM + 61_000


def test_sparse_fleet_before_any_estimate_uses_the_devices_offset() -> None:
    clock = FleetClock(min_devices=3)
    clock.observe("only", SIM, WALL)
    assert clock.now(WALL + 5_000) == SIM + 5_000 and clock.thin


def test_never_goes_back() -> None:
    clock = FleetClock()
    for n in range(5):
        clock.observe(f"d-{n}", SIM + HOUR, WALL)
    assert clock.now(WALL) == SIM + HOUR
    for n in range(5, 36):  # the fleet is replaced by devices whose clocks are an hour behind
        clock.observe(f"d-{n}", SIM, WALL + 1)
    assert clock.now(WALL + 1) == SIM + HOUR


def test_a_reordered_old_message_does_not_pull_a_device_back() -> None:
    clock = FleetClock(min_devices=1)
    clock.observe("d", SIM + 1_000, WALL)
    clock.observe("d", SIM, WALL)
    assert clock.now(WALL) == SIM + 1_000


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        FleetClock(sample=0)


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(-HOUR, HOUR), st.integers(0, 1_000)), max_size=200))
def test_monotonic_for_any_traffic(messages: list[tuple[int, int, int]]) -> None:
    clock = FleetClock()
    wall, last = WALL, None
    for device, offset, step in messages:
        wall += step
        clock.observe(f"d-{device}", SIM + offset + (wall - WALL), wall)
        now = clock.now(wall)
        assert last is None or now >= last
        last = now
