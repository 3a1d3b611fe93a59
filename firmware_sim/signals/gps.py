"""Positions: local metres ↔ lat/lon, walking/driving legs along street-like paths, GNSS jitter."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Xiqing District, Tianjin (district center, roughly)
XIQING_LAT = 39.1400
XIQING_LON = 117.0100
M_PER_DEG_LAT = 111_320.0


@dataclass(frozen=True, slots=True)
class Point:
    """A position in metres east/north of the district center."""

    east: float
    north: float

    def distance(self, other: Point) -> float:
        return math.hypot(self.east - other.east, self.north - other.north)


def to_latlon(p: Point) -> tuple[float, float]:
    lat = XIQING_LAT + p.north / M_PER_DEG_LAT
    lon = XIQING_LON + p.east / (M_PER_DEG_LAT * math.cos(math.radians(XIQING_LAT)))
    return round(lat, 6), round(lon, 6)


def from_latlon(lat: float, lon: float) -> Point:
    return Point(
        east=(lon - XIQING_LON) * M_PER_DEG_LAT * math.cos(math.radians(XIQING_LAT)),
        north=(lat - XIQING_LAT) * M_PER_DEG_LAT,
    )


@dataclass(frozen=True, slots=True)
class Leg:
    """A trip from ``start`` to ``end`` via ``corner`` (streets are a grid), at ``speed_mps``."""

    start: Point
    corner: Point
    end: Point
    t0_ms: int
    speed_mps: float

    @property
    def length_m(self) -> float:
        return self.start.distance(self.corner) + self.corner.distance(self.end)

    @property
    def t1_ms(self) -> int:
        return self.t0_ms + int(self.length_m / self.speed_mps * 1000)

    def position(self, now_ms: int) -> Point:
        travelled = max(0.0, (now_ms - self.t0_ms) / 1000 * self.speed_mps)
        first = self.start.distance(self.corner)
        if travelled <= first:
            a, b, d, span = self.start, self.corner, travelled, first
        else:
            a, b, d, span = (
                self.corner,
                self.end,
                min(travelled - first, self.corner.distance(self.end)),
                (self.corner.distance(self.end)),
            )
        f = d / span if span > 0 else 1.0
        return Point(a.east + f * (b.east - a.east), a.north + f * (b.north - a.north))


def street_leg(start: Point, end: Point, t0_ms: int, speed_mps: float, rng: np.random.Generator) -> Leg:
    corner = Point(end.east, start.north) if rng.random() < 0.5 else Point(start.east, end.north)
    return Leg(start, corner, end, t0_ms, speed_mps)


class Jitter:
    """Correlated GNSS error (AR(1), metres): fixes wander a few metres rather than jumping."""

    def __init__(self, rng: np.random.Generator, sigma_m: float = 4.0) -> None:
        self._rng = rng
        self._sigma = sigma_m
        self._e = np.zeros(2)

    def apply(self, p: Point) -> Point:
        self._e = 0.8 * self._e + self._rng.normal(0.0, self._sigma * 0.6, 2)
        return Point(p.east + float(self._e[0]), p.north + float(self._e[1]))


def random_place(rng: np.random.Generator, around: Point, radius_m: float) -> Point:
    angle = float(rng.uniform(0, 2 * math.pi))
    r = radius_m * math.sqrt(float(rng.random()))
    return Point(around.east + r * math.cos(angle), around.north + r * math.sin(angle))
