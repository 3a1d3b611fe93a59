"""SOS card (助老卡): long-press SOS with a cancel window, location fixes, heartbeat, battery."""

from __future__ import annotations

import math

import numpy as np

from contracts import DeviceKind, LocationSource
from firmware_sim.models.base import local_hour
from firmware_sim.models.located import LocatedDevice, Reading
from firmware_sim.signals.gps import Jitter, Point, random_place, to_latlon

WALK_MPS = 1.0


class SosCard(LocatedDevice):
    """An elder's card. Mostly indoors at home (Wi-Fi or cell-tower fixes); outdoors on a daily walk
    (GNSS fixes along a loop through the neighbourhood)."""

    kind = DeviceKind.SOS_CARD
    heartbeat_s = 300
    drain_pct_per_h = 0.6  # about a week on a charge

    def __init__(self, device_id: str, subject_id: str, rng: np.random.Generator, start_ms: int) -> None:
        super().__init__(device_id, subject_id, rng, start_ms)
        self.home = random_place(rng, Point(0.0, 0.0), 6_000.0)
        self.walk_start_h = float(rng.uniform(6.5, 9.5))  # the daily walk
        self.walk_minutes = float(rng.uniform(25.0, 70.0))
        self.loop_radius_m = float(rng.uniform(150.0, 400.0))
        self._jitter = Jitter(rng, 4.0)
        self.first_fix_at(start_ms, 600)

    def outdoors(self, now_ms: int) -> bool:
        minutes = (local_hour(now_ms) - self.walk_start_h) * 60
        return 0.0 <= minutes < self.walk_minutes

    def position(self, now_ms: int) -> Point:
        if not self.outdoors(now_ms):
            return self.home
        walked_m = (local_hour(now_ms) - self.walk_start_h) * 3600 * WALK_MPS
        theta = walked_m / self.loop_radius_m
        r = self.loop_radius_m
        return Point(self.home.east + r * (math.cos(theta) - 1), self.home.north + r * math.sin(theta))

    def measure(self, now_ms: int) -> Reading:
        """A position fix: GNSS outdoors; indoors Wi-Fi when a known hotspot is seen, else cell towers."""
        true = self.position(now_ms)
        if self.outdoors(now_ms):
            accuracy = float(self.rng.uniform(4.0, 15.0))
            seen = self._jitter.apply(true)
            source = LocationSource.GNSS
        elif self.rng.random() < 0.7:
            accuracy = float(self.rng.uniform(20.0, 60.0))
            seen = random_place(self.rng, true, accuracy)
            source = LocationSource.WIFI
        else:
            accuracy = float(self.rng.uniform(250.0, 1_500.0))
            seen = random_place(self.rng, true, accuracy)
            source = LocationSource.LBS
        lat, lon = to_latlon(seen)
        return Reading(lat, lon, round(accuracy, 1), source, WALK_MPS if self.outdoors(now_ms) else None)
