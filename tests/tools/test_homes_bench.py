"""`anxin bench homes` scores scripted events against what the home detectors raised."""

from __future__ import annotations

from firmware_sim.randomness import device_rng
from tools.homes_bench import run_home, score, script_home


def test_the_script_has_every_hazard_each_week_and_learning_comes_first() -> None:
    script = script_home(device_rng(1, "hub-0001", "script"), 3)
    kinds = [s.kind for s in script]
    for kind in ("smoke", "gas", "tap_running", "pull_cord"):
        assert kinds.count(kind) == 3
    first_week_end = script[0].t_ms + 7 * 86_400_000
    assert not [s for s in script if s.kind == "nobody_up" and s.t_ms < first_week_end - 86_400_000]


def test_two_homes_for_three_weeks_are_scored() -> None:
    runs = [run_home(f"hub-{n:04d}", 3, 3) for n in (1, 2)]
    figures = score(runs, 3)
    assert figures["home_weeks"] == 6
    for row in figures["hazards_ms"].values():
        assert row["n"] == 6 and row["missed"] == 0 and row["max"] <= 5_000
    ina = figures["inactivity_min_after_usual_start"]
    assert ina["missed"] == 0
    if ina["n"]:
        assert ina["max"] <= 60
    assert figures["stuck_spells"] == len(figures["stuck_sensor_faults"])
    assert all(n == 1 for n in figures["stuck_sensor_faults"])
