"""One contract suite that every detector goes through (river style).

Each harness knows how to build a detector, feed it a deterministic scenario that must
raise at least one event, feed it garbage, feed it nothing, and move its clock back.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from synthetic_signals import fall

from contracts import DeviceKind
from edge.detection.child_monitor import GeofenceMonitor, GpsFix
from edge.detection.device_health import DeviceHealthMonitor
from edge.detection.errors import OutOfOrderError
from edge.detection.events import DetectionEvent, EventKind, severity_of
from edge.detection.fall import FallDetector, PeakThresholdDetector
from edge.detection.geofence import CircleFence
from edge.detection.inactivity import InactivityConfig, InactivityDetector
from edge.detection.vitals import VitalsDetector

T0 = 1_704_067_200_000  # Monday 2024-01-01 08:00 at UTC+8
MIN = 60_000
Feed = Callable[[Any, int], list[DetectionEvent]]


@dataclass(frozen=True)
class Harness:
    name: str
    make: Callable[[str], Any]
    scenario: Feed
    garbage: Feed
    empty: Feed
    backwards: Callable[[Any, int], object]


def _accel_scenario(det: Any, t0: int) -> list[DetectionEvent]:
    signal, _ = fall(np.random.default_rng(42))
    return [e for i in range(0, len(signal), 50) for e in det.update(signal[i : i + 50], t0 + i * 20, 50.0)]


def _accel_garbage(det: Any, t0: int) -> list[DetectionEvent]:
    junk = np.array([[math.nan, 1.0, 0.0], [math.inf, -math.inf, 0.0], [1e9, -1e9, 1e30]] * 50)
    return list(det.update(junk, t0, 50.0)) + list(det.update(np.full((50, 3), np.nan), t0 + 3000, 50.0))


def _accel_empty(det: Any, t0: int) -> list[DetectionEvent]:
    return list(det.update(np.zeros((0, 3)), t0, 50.0))


def _accel_back(det: Any, t0: int) -> None:
    det.update(np.zeros((100, 3)), t0, 50.0)
    det.update(np.zeros((50, 3)), t0 - 10_000, 50.0)


def _vitals_scenario(det: VitalsDetector, t0: int) -> list[DetectionEvent]:
    return [e for i, hr in enumerate([70, 72, 140, 145, 150, 148]) for e in det.update(t0 + i * MIN, hr, 97)]


def _vitals_garbage(det: VitalsDetector, t0: int) -> list[DetectionEvent]:
    values: list[Any] = [None, 0, -1, math.nan, math.inf, -math.inf, 1e12, "abc", True]
    return [e for i, v in enumerate(values) for e in det.update(t0 + i * MIN, v, v)]


INACTIVE = InactivityConfig(utc_offset_min=8 * 60)


def _inactivity_scenario(det: InactivityDetector, t0: int) -> list[DetectionEvent]:
    return det.activity(t0 + MIN) + det.tick(t0 + 4 * 3_600_000)


SCHOOL = CircleFence(name="school", lat=31.23, lon=121.47, radius_m=150)


def _geo_scenario(det: GeofenceMonitor, t0: int) -> list[DetectionEvent]:
    lats = [31.23, 31.23, 31.24, 31.24]
    return [
        e
        for i, lat in enumerate(lats)
        for e in det.update(GpsFix(t_ms=t0 + i * MIN, lat=lat, lon=121.47, accuracy_m=10))
    ]


def _geo_garbage(det: GeofenceMonitor, t0: int) -> list[DetectionEvent]:
    bad = [
        (math.nan, 0.0, 5.0),
        (91.0, 0.0, 5.0),
        (0.0, math.inf, 5.0),
        (31.23, 121.47, math.nan),
        (31.23, 121.47, -1.0),
    ]
    return [
        e
        for i, (la, lo, acc) in enumerate(bad)
        for e in det.update(GpsFix(t_ms=t0 + i, lat=la, lon=lo, accuracy_m=acc, speed_mps=math.nan))
    ]


def _health_scenario(det: DeviceHealthMonitor, t0: int) -> list[DetectionEvent]:
    return det.heartbeat(t0, battery_pct=90) + det.tick(t0 + 4 * 3_600_000)


def _health_garbage(det: DeviceHealthMonitor, t0: int) -> list[DetectionEvent]:
    out: list[DetectionEvent] = []
    for i, b in enumerate([math.nan, -5.0, 1e9, None, math.inf]):
        out += det.heartbeat(t0 + i, battery_pct=b)
    return out


HARNESSES = [
    Harness("fall", FallDetector, _accel_scenario, _accel_garbage, _accel_empty, _accel_back),
    Harness(
        "fall_baseline",
        PeakThresholdDetector,
        _accel_scenario,
        _accel_garbage,
        _accel_empty,
        _accel_back,
    ),
    Harness(
        "vitals",
        VitalsDetector,
        _vitals_scenario,
        _vitals_garbage,
        lambda d, t: [],
        lambda d, t: (d.update(t, 70, 97), d.update(t - MIN, 70, 97)),
    ),
    Harness(
        "inactivity",
        lambda s: InactivityDetector(s, INACTIVE),
        _inactivity_scenario,
        lambda d, t: d.tick(t) + d.tick(t),
        lambda d, t: d.tick(t),
        lambda d, t: (d.activity(t), d.tick(t - MIN)),
    ),
    Harness(
        "geofence",
        lambda s: GeofenceMonitor(s, [SCHOOL]),
        _geo_scenario,
        _geo_garbage,
        lambda d, t: [],
        lambda d, t: (
            d.update(GpsFix(t_ms=t, lat=31.23, lon=121.47, accuracy_m=5)),
            d.update(GpsFix(t_ms=t - MIN, lat=31.23, lon=121.47, accuracy_m=5)),
        ),
    ),
    Harness(
        "device_health",
        lambda s: DeviceHealthMonitor(s, DeviceKind.SOS_CARD),
        _health_scenario,
        _health_garbage,
        lambda d, t: d.tick(t),
        lambda d, t: (d.heartbeat(t), d.tick(t - MIN)),
    ),
]


@pytest.fixture(params=HARNESSES, ids=lambda h: h.name)
def harness(request: pytest.FixtureRequest) -> Harness:
    h: Harness = request.param
    return h


def test_scenario_raises_well_formed_events(harness: Harness) -> None:
    events = harness.scenario(harness.make("dev-7"), T0)
    assert events, "the scenario must alarm, otherwise the other checks prove nothing"
    for e in events:
        assert isinstance(e.kind, EventKind) and e.severity == severity_of(e.kind)
        assert e.source_id == "dev-7"
        assert e.onset_ms <= e.t_ms and T0 - MIN <= e.t_ms <= T0 + 24 * 3_600_000
        assert e.reason


def test_empty_input_gives_no_events(harness: Harness) -> None:
    assert harness.empty(harness.make("d"), T0) == []


def test_garbage_input_does_not_raise_or_alarm(harness: Harness) -> None:
    assert harness.garbage(harness.make("d"), T0) == []


def test_deterministic(harness: Harness) -> None:
    assert harness.scenario(harness.make("d"), T0) == harness.scenario(harness.make("d"), T0)


def test_state_is_per_instance(harness: Harness) -> None:
    reference = harness.scenario(harness.make("b"), T0)
    a, b = harness.make("a"), harness.make("b")
    harness.scenario(a, T0)
    assert harness.scenario(b, T0) == reference


def test_time_going_backwards_is_not_silent(harness: Harness) -> None:
    with pytest.raises(OutOfOrderError):
        harness.backwards(harness.make("d"), T0)


def test_garbage_then_scenario_still_alarms(harness: Harness) -> None:
    det = harness.make("d")
    harness.garbage(det, T0 - 30 * MIN)
    assert harness.scenario(det, T0)
