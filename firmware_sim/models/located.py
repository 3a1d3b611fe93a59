"""What the SOS card and the child monitor share: a position fix every ``location_interval_s``."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from contracts import DeviceConfig, Fix, Location, LocationSource, UplinkChannel
from firmware_sim.models.base import DeviceModel, Outgoing


class Reading(NamedTuple):
    """One position measurement as the device reports it."""

    lat: float
    lon: float
    accuracy_m: float
    source: LocationSource
    speed_mps: float | None


class LocatedDevice(DeviceModel):
    """A device that reports where it is: a ``location`` timer, ``Location`` uplinks, the SOS fix.
    Subclasses say how a position is measured (:meth:`measure`)."""

    location_interval_s: int

    def measure(self, now_ms: int) -> Reading:
        raise NotImplementedError

    def first_fix_at(self, start_ms: int, interval_s: int) -> None:
        """Start reporting every ``interval_s``, the first at a random point of the first interval."""
        self.location_interval_s = interval_s
        self._timers["location"] = start_ms + int(self.rng.uniform(0, interval_s) * 1000)

    def handlers(self) -> dict[str, Callable[[int], list[Outgoing]]]:
        return {**super().handlers(), "location": self._on_location}

    def fix(self, now_ms: int) -> Fix:
        r = self.measure(now_ms)
        return Fix(lat=r.lat, lon=r.lon, accuracy_m=r.accuracy_m, source=r.source)

    def _on_location(self, now_ms: int) -> list[Outgoing]:
        self._timers["location"] = now_ms + self.location_interval_s * 1000
        r = self.measure(now_ms)
        msg = Location(
            device_id=self.device_id,
            seq=self.next_seq(),
            ts=self.ts(now_ms),
            lat=r.lat,
            lon=r.lon,
            accuracy_m=r.accuracy_m,
            source=r.source,
            speed_mps=r.speed_mps,
        )
        return [Outgoing(UplinkChannel.LOCATION, msg)]

    def apply_config(self, config: DeviceConfig) -> None:
        super().apply_config(config)
        if config.location_interval_s is not None:
            self.location_interval_s = config.location_interval_s
