"""Geofences (circle and polygon, WGS-84 lat/lon) and weekly schedules."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

EARTH_RADIUS_M = 6_371_008.8
DAY_MS = 86_400_000
MINUTE_MS = 60_000
WEEKDAYS = frozenset(range(5))


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True, kw_only=True)
class WeeklySchedule:
    """Active on ``days`` (0 = Monday) from ``start_min`` to ``end_min`` local time
    (minutes after midnight; local = UTC + ``utc_offset_min``)."""

    days: frozenset[int] = WEEKDAYS
    start_min: int = 8 * 60
    end_min: int = 16 * 60 + 30
    utc_offset_min: int = 8 * 60

    def active(self, t_ms: int) -> bool:
        """Whether the schedule is on at ``t_ms`` (Unix ms)."""
        local = t_ms + self.utc_offset_min * MINUTE_MS
        weekday = (local // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday
        minute = (local % DAY_MS) // MINUTE_MS
        return weekday in self.days and self.start_min <= minute < self.end_min


@dataclass(frozen=True, slots=True, kw_only=True)
class CircleFence:
    """A circle of ``radius_m`` around (lat, lon); always active without a schedule."""

    name: str
    lat: float
    lon: float
    radius_m: float
    schedule: WeeklySchedule | None = None

    def signed_distance_m(self, lat: float, lon: float) -> float:
        """Distance to the boundary: negative inside, positive outside."""
        return haversine_m(self.lat, self.lon, lat, lon) - self.radius_m


@dataclass(frozen=True, slots=True, kw_only=True)
class PolygonFence:
    """A simple polygon of (lat, lon) vertices (small areas: a local plane is used)."""

    name: str
    vertices: tuple[tuple[float, float], ...]
    schedule: WeeklySchedule | None = None
    _plane: tuple[tuple[float, float], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.vertices) < 3:
            raise ValueError("a polygon fence needs at least 3 vertices")
        object.__setattr__(self, "_plane", tuple(self._project(lat, lon) for lat, lon in self.vertices))

    def _project(self, lat: float, lon: float) -> tuple[float, float]:
        lat0, lon0 = self.vertices[0]
        x = math.radians(lon - lon0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
        y = math.radians(lat - lat0) * EARTH_RADIUS_M
        return x, y

    def signed_distance_m(self, lat: float, lon: float) -> float:
        """Distance to the nearest edge: negative inside, positive outside."""
        px, py = self._project(lat, lon)
        pts = self._plane
        inside = False
        best = math.inf
        for i, (ax, ay) in enumerate(pts):
            bx, by = pts[(i + 1) % len(pts)]
            if (ay > py) != (by > py) and px < ax + (py - ay) * (bx - ax) / (by - ay):
                inside = not inside
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            u = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
            best = min(best, math.hypot(px - (ax + u * dx), py - (ay + u * dy)))
        return -best if inside else best


Fence = CircleFence | PolygonFence


def fence_active(fence: Fence, t_ms: int) -> bool:
    """A fence without a schedule is always active."""
    return fence.schedule is None or fence.schedule.active(t_ms)
