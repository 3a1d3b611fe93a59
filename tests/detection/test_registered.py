"""Every detector the gateway runs, through the same checks, by the one interface (``observe``/``tick``).

The harnesses below drive each registered detector (:data:`edge.detection.lineup.DETECTORS`) with wire
messages, as the gateway does; a detector added to the list without a harness here fails the first test.
The pure detectors' own contract suite (garbage values, empty batches) is ``test_contract.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest
from synthetic_signals import fall

from contracts import (
    AccelBatch,
    DeviceKind,
    Hazard,
    HazardAlarm,
    Location,
    LocationSource,
    MotionCount,
    Presence,
    Status,
    Vitals,
    WearState,
)
from edge.detection.adapter import DetectionAdapter
from edge.detection.config import DEFAULT_CONFIG, DetectorConfig
from edge.detection.errors import OutOfOrderError
from edge.detection.events import DetectionEvent, EventKind, severity_of
from edge.detection.fall_model import load_default_model
from edge.detection.geofence import CircleFence
from edge.detection.inactivity import InactivityConfig
from edge.detection.lineup import DETECTORS
from edge.detection.stream import DetectorSpec, DeviceDetector, Observed, Setup

T0 = 1_704_067_200_000  # Monday 2024-01-01 08:00 at UTC+8
MIN = 60_000
HOUR = 60 * MIN
MODEL = load_default_model()
SCHOOL = CircleFence(name="school", lat=31.23, lon=121.47, radius_m=150)
Step = Observed | int  # a message to observe, or a time to tick to


def _accel(device: str, seq: int, ts: int, samples: np.ndarray) -> AccelBatch:
    return AccelBatch(device_id=device, seq=seq, ts=ts, rate_hz=50, samples=[tuple(s) for s in samples])


def _location(device: str, seq: int, ts: int, lat: float) -> Location:
    gnss = LocationSource.GNSS
    return Location(device_id=device, seq=seq, ts=ts, lat=lat, lon=121.47, accuracy_m=10, source=gnss)


def _fall_scenario(device: str, t0: int) -> list[Step]:
    signal, _ = fall(np.random.default_rng(42))
    return [_accel(device, i, t0 + i * 20, signal[i : i + 50]) for i in range(0, len(signal), 50)]


def _vitals_scenario(device: str, t0: int) -> list[Step]:
    hrs = [70, 72, 140, 145, 150, 148]
    return [
        Vitals(device_id=device, seq=i, ts=t0 + i * MIN, hr_bpm=hr, spo2_pct=97) for i, hr in enumerate(hrs)
    ]


def _geofence_scenario(device: str, t0: int) -> list[Step]:
    return [_location(device, i, t0 + i * MIN, lat) for i, lat in enumerate([31.23, 31.23, 31.24, 31.24])]


def _inactivity_scenario(device: str, t0: int) -> list[Step]:
    return [Vitals(device_id=device, seq=1, ts=t0 + MIN, hr_bpm=70, spo2_pct=97, motion=True), t0 + 4 * HOUR]


def _health_scenario(device: str, t0: int) -> list[Step]:
    # silence is the gateway's liveness watch (edge/liveness), not this detector's: a battery running low
    return [
        Status(device_id=device, seq=1, ts=t0, battery_pct=90),
        Status(device_id=device, seq=2, ts=t0 + HOUR, battery_pct=12),
    ]


def _home_scenario(device: str, t0: int) -> list[Step]:
    smoke = HazardAlarm(
        device_id=device, seq=1, ts=t0 + MIN, sensor_id=f"{device}-smoke", hazard=Hazard.SMOKE, state="alarm"
    )
    return [MotionCount(device_id=device, seq=0, ts=t0, sensor_id=f"{device}-pir", count=2), smoke]


@dataclass(frozen=True)
class Harness:
    kind: DeviceKind
    config: DetectorConfig
    scenario: object  # (device, t0) -> steps that must raise at least one event
    own: type  # the message type it reads, for the time-order check


PLAN = DetectorConfig(fences=(SCHOOL,), inactivity=InactivityConfig(utc_offset_min=8 * 60))
HARNESSES: dict[str, Harness] = {
    "fall": Harness(DeviceKind.WEARABLE, PLAN, _fall_scenario, AccelBatch),
    "vitals": Harness(DeviceKind.WEARABLE, PLAN, _vitals_scenario, Vitals),
    "geofence": Harness(DeviceKind.CHILD_MONITOR, PLAN, _geofence_scenario, Location),
    "inactivity": Harness(DeviceKind.WEARABLE, PLAN, _inactivity_scenario, Status),
    "device_health": Harness(DeviceKind.SOS_CARD, PLAN, _health_scenario, Status),
    "home": Harness(DeviceKind.HOME_HUB, PLAN, _home_scenario, MotionCount),
}


def _build(spec: DetectorSpec, device: str = "dev-7") -> DeviceDetector:
    h = HARNESSES[spec.name]
    detector = spec.build(Setup(device, h.kind, h.config, MODEL))
    assert detector is not None, f"{spec.name} must be built for a {h.kind}"
    return detector


def _run(detector: DeviceDetector, steps: Sequence[Step]) -> list[DetectionEvent]:
    events: list[DetectionEvent] = []
    for step in steps:
        if isinstance(step, int):
            events += detector.tick(step)
        else:
            events += detector.observe(step, step.ts or T0)
    return events


def _scenario(spec: DetectorSpec, device: str, t0: int = T0) -> list[Step]:
    steps: list[Step] = HARNESSES[spec.name].scenario(device, t0)  # type: ignore[operator]
    return steps


def _ordinary(device: str, t0: int) -> list[Step]:
    """A quiet stretch of every kind of message: nothing in it is an alarm."""
    resting = np.tile([0.0, 0.0, 1.0], (50, 1))
    return [
        Presence(device_id=device, online=True, ts=t0),
        Status(device_id=device, seq=1, ts=t0 + 1000, battery_pct=80),
        WearState(device_id=device, seq=2, ts=t0 + 2000, state="worn"),
        Vitals(device_id=device, seq=3, ts=t0 + 3000, hr_bpm=70, spo2_pct=97),
        _location(device, 4, t0 + 4000, 31.23),
        _accel(device, 5, t0 + 5000, resting),
        MotionCount(device_id=device, seq=6, ts=t0 + 5500, sensor_id=f"{device}-pir", count=3),
        t0 + 6000,
    ]


@pytest.fixture(params=DETECTORS, ids=lambda spec: spec.name)
def spec(request: pytest.FixtureRequest) -> DetectorSpec:
    s: DetectorSpec = request.param
    return s


def test_every_registered_detector_has_a_harness() -> None:
    assert [s.name for s in DETECTORS] == list(HARNESSES)
    assert len({s.name for s in DETECTORS}) == len(DETECTORS)


def test_scenario_raises_well_formed_events(spec: DetectorSpec) -> None:
    events = _run(_build(spec), _scenario(spec, "dev-7"))
    assert events, "the scenario must alarm, otherwise the other checks prove nothing"
    for e in events:
        assert isinstance(e.kind, EventKind) and e.severity == severity_of(e.kind)
        assert e.source_id == "dev-7"
        assert e.onset_ms <= e.t_ms and T0 - MIN <= e.t_ms <= T0 + 24 * HOUR
        assert e.reason


def test_ordinary_traffic_of_every_kind_raises_nothing(spec: DetectorSpec) -> None:
    assert _run(_build(spec), _ordinary("dev-7", T0)) == []


def test_deterministic(spec: DetectorSpec) -> None:
    assert _run(_build(spec), _scenario(spec, "d")) == _run(_build(spec), _scenario(spec, "d"))


def test_state_is_per_device(spec: DetectorSpec) -> None:
    reference = _run(_build(spec, "b"), _scenario(spec, "b"))
    a, b = _build(spec, "a"), _build(spec, "b")
    _run(a, _scenario(spec, "a"))
    assert _run(b, _scenario(spec, "b")) == reference


def test_time_going_backwards_is_not_silent(spec: DetectorSpec) -> None:
    detector = _build(spec)
    own = next(m for m in _ordinary("dev-7", T0) if isinstance(m, HARNESSES[spec.name].own))
    assert not isinstance(own, int | Presence)
    detector.observe(own, T0 + HOUR)
    with pytest.raises(OutOfOrderError):
        detector.observe(own, T0)


def test_the_same_care_plan_again_changes_nothing(spec: DetectorSpec) -> None:
    detector = _build(spec)
    assert detector.reconfigure(HARNESSES[spec.name].config) is False
    assert _run(detector, _scenario(spec, "dev-7")) == _run(_build(spec), _scenario(spec, "dev-7"))


@pytest.mark.expect_logged_errors("detector.failed")
def test_a_failing_detector_leaves_the_others_findings_intact(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def observe(self, message: Observed, t_ms: int) -> Sequence[DetectionEvent]:
            raise RuntimeError("boom")

        def tick(self, t_ms: int) -> Sequence[DetectionEvent]:
            raise RuntimeError("boom")

        def reconfigure(self, config: DetectorConfig) -> bool:
            return False

    failed: list[str] = []
    adapter = DetectionAdapter(
        lambda _d: DeviceKind.WEARABLE,
        detectors=(DetectorSpec("broken", lambda _setup: Broken()), *DETECTORS),
        on_failure=failed.append,
    )
    healthy = DetectionAdapter(lambda _d: DeviceKind.WEARABLE)
    steps = _vitals_scenario("wear-1", T0)
    with caplog.at_level(logging.ERROR, logger="edge.detection.adapter"):
        found = [f for m in steps for f in adapter.observe(m, m.ts)]  # type: ignore[union-attr,arg-type]
    expected = [f for m in steps for f in healthy.observe(m, m.ts)]  # type: ignore[union-attr,arg-type]
    assert [f.kind for f in expected] == [EventKind.HR_HIGH]
    assert found == expected
    assert adapter.failures == {"broken": len(steps)} and failed == ["broken"] * len(steps)
    logged = [r for r in caplog.records if r.getMessage().startswith("detector.failed")]
    assert len(logged) == len(steps) and logged[0].exc_info is not None
    assert logged[0].getMessage() == "detector.failed detector=broken device=wear-1"


def test_defaults_are_the_detection_packages_own() -> None:
    assert DetectorConfig() == DEFAULT_CONFIG
