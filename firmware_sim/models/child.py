"""Child safety monitor (watch): GPS along routes home ↔ school ↔ other places, fences, strap, SOS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from contracts import DeviceKind, LocationSource, UplinkChannel, WearState
from firmware_sim.models.base import CST_OFFSET_MS, DAY_MS, Injection, Outgoing
from firmware_sim.models.located import LocatedDevice, Reading
from firmware_sim.signals.gps import Jitter, Leg, Point, random_place, street_leg, to_latlon

HOME_RADIUS_M = 100.0
SCHOOL_RADIUS_M = 150.0
SCHOOL_HOURS = ("08:00", "16:00")  # Monday to Friday
MIN_MS = 60_000


@dataclass(frozen=True, slots=True)
class Fence:
    name: str
    center: Point
    radius_m: float

    def contains(self, p: Point) -> bool:
        return self.center.distance(p) <= self.radius_m

    def describe(self) -> dict[str, Any]:
        lat, lon = to_latlon(self.center)
        return {"name": self.name, "lat": lat, "lon": lon, "radius_m": self.radius_m}


def day_start_ms(now_ms: int) -> int:
    """Local (CST) midnight at or before ``now_ms``."""
    return (now_ms + CST_OFFSET_MS) // DAY_MS * DAY_MS - CST_OFFSET_MS


def weekday(now_ms: int) -> int:
    """Monday = 0 ... Sunday = 6, in CST."""
    return int(((now_ms + CST_OFFSET_MS) // DAY_MS + 3) % 7)


class ChildMonitor(LocatedDevice):
    kind = DeviceKind.CHILD_MONITOR
    heartbeat_s = 300
    drain_pct_per_h = 3.0

    def __init__(self, device_id: str, subject_id: str, rng: np.random.Generator, start_ms: int) -> None:
        super().__init__(device_id, subject_id, rng, start_ms)
        home = random_place(rng, Point(0.0, 0.0), 6_000.0)
        school = random_place(rng, home, 1_500.0)
        self.home = Fence("home", home, HOME_RADIUS_M)
        self.school = Fence("school", school, SCHOOL_RADIUS_M)
        self.other = random_place(rng, home, 900.0)  # a park, a grandparent's flat, a class
        self.speed_mps = float(rng.uniform(1.1, 1.5)) if rng.random() < 0.7 else float(rng.uniform(5.0, 9.0))
        self.strap_on = True
        self._jitter = Jitter(rng, 4.0)
        self._plan: list[Leg] = []
        self._override: list[Leg] = []
        self._override_until = 0
        self._rest = home
        self._timers["plan"] = start_ms
        self.first_fix_at(start_ms, 60)

    def handlers(self) -> dict[str, Callable[[int], list[Outgoing]]]:
        return {
            **super().handlers(),
            "plan": self._on_plan,
            "restrap": self._on_restrap,
        }

    @property
    def fences(self) -> list[Fence]:
        return [self.home, self.school]

    # -- the day's routes ------------------------------------------------------------------------
    def _on_plan(self, now_ms: int) -> list[Outgoing]:
        day = day_start_ms(now_ms)
        self._timers["plan"] = day + DAY_MS
        rng = self.rng
        legs: list[Leg] = []
        if weekday(now_ms) < 5:
            go = day + int((7 * 60 + 10 + rng.uniform(0, 25)) * MIN_MS)
            legs.append(street_leg(self.home.center, self.school.center, go, self.speed_mps, rng))
            back = day + int((16 * 60 + rng.uniform(0, 20)) * MIN_MS)
            legs.extend(self._trip_home(self.school.center, back, rng.random() < 0.4))
        elif rng.random() < 0.6:
            out = day + int((14 * 60 + rng.uniform(0, 120)) * MIN_MS)
            legs.extend(self._trip_home(self.home.center, out, True))
        done = [leg for leg in legs if leg.t1_ms <= now_ms]
        if done:  # starting mid-day: the child is where the day's finished legs took it
            self._rest = done[-1].end
        self._plan = [leg for leg in legs if leg.t1_ms > now_ms]
        return []

    def _trip_home(self, start: Point, t0: int, via_other: bool) -> list[Leg]:
        if not via_other:
            return [street_leg(start, self.home.center, t0, self.speed_mps, self.rng)]
        first = street_leg(start, self.other, t0, self.speed_mps, self.rng)
        dwell = int(self.rng.uniform(30, 90) * MIN_MS)
        return [
            first,
            street_leg(self.other, self.home.center, first.t1_ms + dwell, self.speed_mps, self.rng),
        ]

    def position(self, now_ms: int) -> tuple[Point, float]:
        """True position and speed (m/s) at ``now_ms``."""
        legs = self._override if now_ms < self._override_until else self._plan
        rest = self._rest
        for leg in legs:
            if leg.t0_ms <= now_ms < leg.t1_ms:
                return leg.position(now_ms), leg.speed_mps
            if leg.t1_ms <= now_ms:
                rest = leg.end
        if legs is self._plan:
            self._rest = rest
        return rest, 0.0

    def measure(self, now_ms: int) -> Reading:
        true, speed = self.position(now_ms)
        indoors = speed == 0.0 and any(f.contains(true) for f in self.fences)
        if not indoors:
            accuracy = float(self.rng.uniform(3.0, 10.0))
            seen, source = self._jitter.apply(true), LocationSource.GNSS
        elif self.rng.random() < 0.8:
            accuracy = float(self.rng.uniform(15.0, 40.0))
            seen, source = random_place(self.rng, true, accuracy * 0.7), LocationSource.WIFI
        else:
            accuracy = float(self.rng.uniform(200.0, 800.0))
            seen, source = random_place(self.rng, true, accuracy * 0.7), LocationSource.LBS
        lat, lon = to_latlon(seen)
        measured_speed = max(0.0, speed + float(self.rng.normal(0, 0.15))) if speed else 0.0
        return Reading(lat, lon, round(accuracy, 1), source, round(measured_speed, 2))

    # -- scenario events ----------------------------------------------------------------------------
    def leave_fence(self, now_ms: int, away_s: float) -> str | None:
        """Walk out of the current fence to a point 500-900 m away, stay ``away_s``, walk back.

        Returns the name of the fence left (None when the child was in no fence).
        """
        here, _ = self.position(now_ms)
        left = next((f.name for f in self.fences if f.contains(here)), None)
        target = random_place(self.rng, here, 900.0)
        while target.distance(here) < 500.0:
            target = random_place(self.rng, here, 900.0)
        out = street_leg(here, target, now_ms, 1.3, self.rng)
        back = street_leg(target, here, out.t1_ms + int(away_s * 1000), 1.3, self.rng)
        self._override = [out, back]
        self._override_until = back.t1_ms
        return left

    def _strap(self, now_ms: int) -> Outgoing:
        state = "worn" if self.strap_on else "removed"
        msg = WearState(device_id=self.device_id, seq=self.next_seq(), ts=self.ts(now_ms), state=state)
        return Outgoing(UplinkChannel.WEAR, msg)

    def _on_restrap(self, now_ms: int) -> list[Outgoing]:
        self.strap_on = True
        return [self._strap(now_ms)]

    def inject_specific(self, event: Injection, now_ms: int) -> list[Outgoing]:
        if event.kind == "geofence_exit":
            left = self.leave_fence(now_ms, float(event.params.get("duration_s", 1800)))
            self.injection_detail = {"fence": left}
            return self._on_location(now_ms)  # the watch reports at once when it leaves a fence
        if event.kind == "strap_removed":
            self.strap_on = False
            duration = event.params.get("duration_s")
            if duration is not None:
                self._timers["restrap"] = now_ms + int(float(duration) * 1000)
            return [self._strap(now_ms)]
        return super().inject_specific(event, now_ms)

    def manifest(self) -> dict[str, Any]:
        """Fences and schedule, for configuring the edge's geofence detector."""
        return {"fences": [f.describe() for f in self.fences], "school_hours": list(SCHOOL_HOURS)}
