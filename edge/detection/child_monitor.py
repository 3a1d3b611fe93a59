"""Child monitor: geofence exit/entry with schedules and GPS-jitter hysteresis, and
travel at vehicle speed.

A fix counts as *inside* when its position is inside the fence and as *outside* only
when it is farther out than its accuracy radius plus ``margin_m``; anything between is
no evidence. The fence state changes after ``confirm_fixes`` consecutive fixes agree.
The first confirmed state after a fence becomes active is taken silently (a child who
is already at school at 08:00 does not "enter" it). Fixes with accuracy worse than
``max_accuracy_m``, or non-finite coordinates, are ignored.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contracts import DeviceKind, Location
from edge.detection.events import DetectionEvent, EventKind, Evidence, GpsPoint
from edge.detection.geofence import Fence, fence_active, haversine_m
from edge.detection.stream import DetectorSpec, Observed, Setup
from edge.detection.time_order import TimeOrder

if TYPE_CHECKING:
    from edge.detection.config import DetectorConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class GpsFix:
    """One position report; ``speed_mps`` from the receiver when it has one."""

    t_ms: int
    lat: float
    lon: float
    accuracy_m: float
    speed_mps: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildMonitorConfig:
    confirm_fixes: int = 2
    margin_m: float = 25.0
    max_accuracy_m: float = 100.0
    vehicle_kmh: float = 25.0
    vehicle_sustain_s: float = 60.0
    vehicle_min_fixes: int = 3
    max_fix_gap_s: float = 120.0
    trail_points: int = 10


class _FenceState:
    __slots__ = ("candidate", "inside", "streak")

    def __init__(self) -> None:
        self.inside: bool | None = None
        self.candidate: bool | None = None
        self.streak = 0


class GeofenceMonitor:
    """Geofences and vehicle speed for one child's device: ``update(fix)``."""

    def __init__(
        self, source_id: str, fences: Sequence[Fence], config: ChildMonitorConfig | None = None
    ) -> None:
        self.source_id = source_id
        self.fences = tuple(fences)
        self.config = cfg = config if config is not None else ChildMonitorConfig()
        self._order = TimeOrder()
        self._states = {f.name: _FenceState() for f in self.fences}
        self._trail: deque[GpsPoint] = deque(maxlen=cfg.trail_points)
        self._prev: GpsFix | None = None
        self._run: list[GpsFix] = []
        self._speeding = False

    def update(self, fix: GpsFix) -> list[DetectionEvent]:
        """Consume one fix; raise :class:`OutOfOrderError` if it is older than the last."""
        self._order.advance(fix.t_ms)
        cfg = self.config
        if not (math.isfinite(fix.lat) and math.isfinite(fix.lon) and math.isfinite(fix.accuracy_m)):
            return []
        if fix.accuracy_m > cfg.max_accuracy_m or abs(fix.lat) > 90 or abs(fix.lon) > 180:
            return []
        self._trail.append(GpsPoint(t_ms=fix.t_ms, lat=fix.lat, lon=fix.lon, accuracy_m=fix.accuracy_m))
        found: list[tuple[EventKind, str, str, int]] = []
        for fence in self.fences:
            change = self._fence_update(fence, fix)
            if change is not None:
                found.append(change)
        kmh = self._speed_kmh(fix)
        onset = self._vehicle_update(fix, kmh)
        self._prev = fix
        if onset is not None:
            found.append((EventKind.VEHICLE_SPEED, "sustained_vehicle_speed", "", onset))
        evidence = Evidence(trail=tuple(self._trail))
        return [
            DetectionEvent(
                kind=kind,
                source_id=self.source_id,
                t_ms=fix.t_ms,
                onset_ms=onset_ms,
                reason=reason if not name else f"{reason}:{name}",
                measures=(("speed_kmh", round(kmh, 1)),),
                evidence=evidence,
            )
            for kind, reason, name, onset_ms in found
        ]

    def _fence_update(self, fence: Fence, fix: GpsFix) -> tuple[EventKind, str, str, int] | None:
        state = self._states[fence.name]
        if not fence_active(fence, fix.t_ms):
            state.inside, state.candidate, state.streak = None, None, 0
            return None
        d = fence.signed_distance_m(fix.lat, fix.lon)
        if d <= 0:
            seen: bool | None = True
        elif d > fix.accuracy_m + self.config.margin_m:
            seen = False
        else:
            seen = None
        if seen is None or seen == state.inside:
            state.candidate, state.streak = None, 0
            return None
        state.streak = state.streak + 1 if state.candidate == seen else 1
        state.candidate = seen
        if state.streak < self.config.confirm_fixes:
            return None
        previous, state.inside = state.inside, seen
        state.candidate, state.streak = None, 0
        if previous is None:
            return None
        if seen:
            return (EventKind.GEOFENCE_ENTER, "entered_fence", fence.name, fix.t_ms)
        return (EventKind.GEOFENCE_EXIT, "left_fence", fence.name, fix.t_ms)

    def _vehicle_update(self, fix: GpsFix, kmh: float) -> int | None:
        """Fire once when every step of a run is above the limit for the sustain time
        *and* the net displacement over the run is too (GPS outliers jumping back and
        forth give fast steps but no net travel)."""
        cfg = self.config
        prev = self._prev
        if kmh <= cfg.vehicle_kmh or (prev is not None and fix.t_ms - prev.t_ms > cfg.max_fix_gap_s * 1000):
            self._run = []
            self._speeding = False
        if kmh <= cfg.vehicle_kmh or self._speeding:
            return None
        if not self._run and prev is not None:
            self._run.append(prev)
        self._run.append(fix)
        first = self._run[0]
        elapsed_s = (fix.t_ms - first.t_ms) / 1000.0
        if self._speeding or len(self._run) < cfg.vehicle_min_fixes or elapsed_s < cfg.vehicle_sustain_s:
            return None
        net_kmh = haversine_m(first.lat, first.lon, fix.lat, fix.lon) / elapsed_s * 3.6
        if net_kmh <= cfg.vehicle_kmh:
            return None
        self._speeding = True
        return first.t_ms

    def _speed_kmh(self, fix: GpsFix) -> float:
        if fix.speed_mps is not None and math.isfinite(fix.speed_mps) and fix.speed_mps >= 0:
            return fix.speed_mps * 3.6
        prev = self._prev
        if prev is None or fix.t_ms <= prev.t_ms:
            return 0.0
        dist = haversine_m(prev.lat, prev.lon, fix.lat, fix.lon)
        if dist <= prev.accuracy_m + fix.accuracy_m:
            return 0.0  # within the combined error: no evidence of movement
        return dist / ((fix.t_ms - prev.t_ms) / 1000.0) * 3.6


class GeofenceStream:
    """The gateway's geofence and vehicle-speed watch for one child monitor: every location fix, with
    the care plan's fences and vehicle speed."""

    def __init__(self, setup: Setup) -> None:
        self.device_id = setup.device_id
        config = setup.config
        self.monitor = GeofenceMonitor(self.device_id, config.fences, config.child)

    def observe(self, message: Observed, t_ms: int) -> Sequence[DetectionEvent]:
        if not isinstance(message, Location):
            return ()
        fix = GpsFix(
            t_ms=t_ms,
            lat=message.lat,
            lon=message.lon,
            accuracy_m=message.accuracy_m,
            speed_mps=message.speed_mps,
        )
        return self.monitor.update(fix)

    def tick(self, t_ms: int) -> Sequence[DetectionEvent]:
        return ()

    def reconfigure(self, config: DetectorConfig) -> bool:
        if config.fences == self.monitor.fences and config.child == self.monitor.config:
            return False
        self.monitor = GeofenceMonitor(self.device_id, config.fences, config.child)
        return True


def _geofence(setup: Setup) -> GeofenceStream | None:
    return GeofenceStream(setup) if setup.kind is DeviceKind.CHILD_MONITOR else None


SPEC = DetectorSpec("geofence", _geofence)
