"""Geofences, vehicle speed and device health."""

from __future__ import annotations

import math

import pytest

from contracts import DeviceKind
from contracts.intake import Severity
from edge.detection.child_monitor import GeofenceMonitor, GpsFix
from edge.detection.device_health import DeviceHealthMonitor
from edge.detection.events import EventKind
from edge.detection.geofence import CircleFence, PolygonFence, WeeklySchedule, haversine_m

LAT, LON = 31.2304, 121.4737
M_PER_DEG = 111_195.0
# Monday 2024-01-01 10:00 at UTC+8
MONDAY_10 = 1_704_038_400_000 + 10 * 3_600_000
SCHOOL = CircleFence(name="school", lat=LAT, lon=LON, radius_m=150, schedule=WeeklySchedule())


def north(m: float) -> float:
    return LAT + m / M_PER_DEG


def fixes(
    mon: GeofenceMonitor,
    metres_north: list[float],
    t0: int = MONDAY_10,
    acc: float = 10.0,
    step_ms: int = 30_000,
) -> list[EventKind]:
    out = []
    for i, m in enumerate(metres_north):
        out += [
            e.kind for e in mon.update(GpsFix(t_ms=t0 + i * step_ms, lat=north(m), lon=LON, accuracy_m=acc))
        ]
    return out


def test_exit_needs_consecutive_fixes_clearly_outside() -> None:
    mon = GeofenceMonitor("kid", [SCHOOL])
    assert fixes(mon, [0, 10, 20, 400, 20, 400, 400]) == [EventKind.GEOFENCE_EXIT]


def test_jitter_at_the_boundary_does_not_flap() -> None:
    mon = GeofenceMonitor("kid", [SCHOOL])
    assert fixes(mon, [0, 0, 160, 140, 170, 145, 175, 150] * 3, acc=30.0) == []


def test_entry_after_exit_and_severities() -> None:
    mon = GeofenceMonitor("kid", [SCHOOL])
    events = []
    for i, m in enumerate([0, 0, 500, 500, 0, 0]):
        events += mon.update(GpsFix(t_ms=MONDAY_10 + i * 30_000, lat=north(m), lon=LON, accuracy_m=10))
    assert [e.kind for e in events] == [EventKind.GEOFENCE_EXIT, EventKind.GEOFENCE_ENTER]
    assert events[0].severity is Severity.P2 and events[0].reason == "left_fence:school"
    assert len(events[0].evidence.trail) == 4


def test_fence_outside_its_schedule_is_silent() -> None:
    mon = GeofenceMonitor("kid", [SCHOOL])
    saturday = MONDAY_10 + 5 * 86_400_000
    assert fixes(mon, [0, 0, 500, 500, 500], t0=saturday) == []
    assert not WeeklySchedule().active(MONDAY_10 + 7 * 3_600_000)  # 17:00


def test_polygon_fence_distance() -> None:
    square = PolygonFence(
        name="park",
        vertices=(
            (north(-100), LON - 0.001),
            (north(100), LON - 0.001),
            (north(100), LON + 0.001),
            (north(-100), LON + 0.001),
        ),
    )
    assert square.signed_distance_m(LAT, LON) == pytest.approx(-94.9, abs=1.0)  # nearest edge is east/west
    assert square.signed_distance_m(north(300), LON) == pytest.approx(200, abs=1.0)
    assert haversine_m(LAT, LON, north(1000), LON) == pytest.approx(1000, rel=1e-3)


def test_sustained_vehicle_speed() -> None:
    mon = GeofenceMonitor("kid", [])
    # 15 m/s = 54 km/h, a fix every 10 s for 90 s
    kinds = fixes(mon, [i * 150.0 for i in range(10)], step_ms=10_000)
    assert kinds == [EventKind.VEHICLE_SPEED]
    walking = GeofenceMonitor("kid", [])
    assert fixes(walking, [i * 15.0 for i in range(20)], step_ms=10_000) == []


def test_gps_garbage_is_ignored() -> None:
    mon = GeofenceMonitor("kid", [SCHOOL])
    assert mon.update(GpsFix(t_ms=MONDAY_10, lat=math.nan, lon=LON, accuracy_m=5)) == []
    assert mon.update(GpsFix(t_ms=MONDAY_10 + 1, lat=LAT, lon=LON, accuracy_m=5000)) == []


T = 1_704_000_000_000
MIN = 60_000


def test_strap_removed_with_good_battery() -> None:
    mon = DeviceHealthMonitor("kid", DeviceKind.CHILD_MONITOR)
    events = [e for i in range(3) for e in mon.heartbeat(T + i * MIN, battery_pct=80, worn=False)]
    assert [e.kind for e in events] == [EventKind.STRAP_REMOVED]
    assert events[0].severity is Severity.P3


def test_low_battery_then_silence_is_battery_depleted() -> None:
    mon = DeviceHealthMonitor("kid", DeviceKind.CHILD_MONITOR)
    kinds = [e.kind for e in mon.heartbeat(T, battery_pct=12, worn=False)]
    kinds += [e.kind for e in mon.heartbeat(T + MIN, battery_pct=9, worn=False)]
    kinds += [e.kind for e in mon.tick(T + 10 * MIN)]
    assert kinds == [EventKind.LOW_BATTERY, EventKind.BATTERY_DEPLETED]


def test_silence_with_good_battery_is_device_silent() -> None:
    mon = DeviceHealthMonitor("card", DeviceKind.SOS_CARD)
    mon.heartbeat(T, battery_pct=90)
    assert mon.tick(T + 2 * 3_600_000) == []
    assert [e.kind for e in mon.tick(T + 4 * 3_600_000)] == [EventKind.DEVICE_SILENT]
    assert mon.tick(T + 5 * 3_600_000) == []


def test_low_battery_hysteresis() -> None:
    mon = DeviceHealthMonitor("w", DeviceKind.WEARABLE)
    levels = [30, 15, 16, 14, 20, 26, 15]
    kinds = [e.kind for i, b in enumerate(levels) for e in mon.heartbeat(T + i * MIN, battery_pct=b)]
    assert kinds == [EventKind.LOW_BATTERY, EventKind.LOW_BATTERY]


def test_reconnect_storm() -> None:
    mon = DeviceHealthMonitor("w", DeviceKind.WEARABLE)
    kinds = [e.kind for i in range(8) for e in mon.reconnect(T + i * 10_000)]
    assert kinds == [EventKind.RECONNECT_STORM]
