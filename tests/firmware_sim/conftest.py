"""Fixtures for the simulator tests: the example one-hour scenario and small fleets."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_sim.scenario import Scenario, load_scenario

REPO = Path(__file__).resolve().parents[2]
START_MS = 1_772_416_800_000  # 2026-03-02 10:00 CST, a Monday


@pytest.fixture
def one_hour() -> Scenario:
    return load_scenario(REPO / "scenarios" / "one-hour.yaml")
