"""A person's care plan as the edge reads it from the registry snapshot (pure; see
:mod:`edge.detector_config` for the detector settings it gives).

The cloud validates plans strictly (``cloud/registry/care_plan.py``); the edge validates again — it trusts
nothing from the wire — but ignores fields it does not know, so a newer cloud can add some. A plan that
does not validate is dropped for that device (the detectors keep their defaults) and counted, never fatal.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

_HHMM = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"

ClockTime = Annotated[str, StringConstraints(pattern=_HHMM)]
UtcOffset = Annotated[int, Field(ge=-720, le=840)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


def minutes_of(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    return int(hours) * 60 + int(minutes)


class _Reader(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class VitalsSpec(_Reader):
    hr_low_bpm: Annotated[float, Field(ge=20, le=100, allow_inf_nan=False)] = 40.0
    hr_high_bpm: Annotated[float, Field(ge=60, le=250, allow_inf_nan=False)] = 130.0
    spo2_low_pct: Annotated[float, Field(ge=70, le=99, allow_inf_nan=False)] = 90.0
    sustained_min: Annotated[float, Field(ge=1, le=60, allow_inf_nan=False)] = 2.0


class WakingSpec(_Reader):
    wake: ClockTime = "07:00"
    sleep: ClockTime = "22:00"
    utc_offset_min: UtcOffset = 480

    @model_validator(mode="after")
    def _ordered(self) -> WakingSpec:
        if minutes_of(self.wake) >= minutes_of(self.sleep):
            raise ValueError("wake must be before sleep")
        return self


class ScheduleSpec(_Reader):
    days: Annotated[list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]], Field(min_length=1)]
    start: ClockTime
    end: ClockTime
    utc_offset_min: UtcOffset = 480

    @model_validator(mode="after")
    def _ordered(self) -> ScheduleSpec:
        if minutes_of(self.start) >= minutes_of(self.end):
            raise ValueError("end must be after start")
        return self


class FenceSpec(_Reader):
    shape: Literal["circle", "polygon"] = "circle"
    name: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    lat: Latitude | None = None
    lon: Longitude | None = None
    radius_m: Annotated[float, Field(gt=0, le=50_000, allow_inf_nan=False)] | None = None
    vertices: Annotated[list[tuple[Latitude, Longitude]], Field(max_length=100)] = []
    schedule: ScheduleSpec | None = None

    @model_validator(mode="after")
    def _complete(self) -> FenceSpec:
        if self.shape == "circle" and (self.lat is None or self.lon is None or self.radius_m is None):
            raise ValueError("a circle fence needs lat, lon and radius_m")
        if self.shape == "polygon" and len(self.vertices) < 3:
            raise ValueError("a polygon fence needs at least 3 vertices")
        return self


class CarePlanSpec(_Reader):
    vitals: VitalsSpec = VitalsSpec()
    waking_hours: WakingSpec = WakingSpec()
    fences: Annotated[list[FenceSpec], Field(max_length=20)] = []
    vehicle_kmh: Annotated[float, Field(gt=0, le=200, allow_inf_nan=False)] = 25.0

    @model_validator(mode="after")
    def _unique_names(self) -> CarePlanSpec:
        names = [f.name for f in self.fences]
        if len(set(names)) != len(names):
            raise ValueError("fence names must be unique")
        return self
