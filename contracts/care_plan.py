"""Care plan of one subject (pure schema): how the edge's detectors are configured for that person.

* ``vitals``: heart-rate and SpO2 alarm limits and how many minutes a reading must stay beyond them;
* ``waking_hours``: the local day (UTC offset, Asia/Shanghai = +480) in which inactivity counts;
* ``fences``: geofences (circle or polygon) with an optional weekly schedule, e.g. 学校 Mon–Fri
  08:00–16:30; a fence without a schedule is always watched;
* ``vehicle_kmh``: travel faster than this for a minute is reported (child monitors);
* ``wearable_placement``: where the person wears their fall wearable (``waist`` clip, ``pendant``,
  ``wrist`` watch): the gateway runs the fall model fitted for that placement. ``None`` (default):
  as the device declares in its accel batches (``AccelBatch.placement``, itself ``waist`` by default).
* ``home``: the smart service pack's overrides (usual getting-up time, the night for the front door).
* ``silence``: how many minutes a device of each kind may stay quiet before the edge reports it
  ``device_silent`` (devices send a status heartbeat every 5 minutes).

Every section has defaults (the common clinical limits), so ``{}`` is a valid plan. The cloud's API
stores it (rejecting unknown fields with :func:`contracts.codec.unknown_fields`) and the same JSON goes to
the edges in the registry snapshot (``GET /api/v1/edges/{edge_id}/devices``), where readers ignore fields
they do not know, as with every contract model.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
CHINA_UTC_OFFSET_MIN = 480
MAX_FENCES = 20
MAX_VERTICES = 100

UtcOffset = Annotated[int, Field(ge=-720, le=840, description="local time = UTC + this many minutes")]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
ClockTime = Annotated[str, StringConstraints(pattern=_HHMM.pattern)]


def minutes_of(hhmm: str) -> int:
    """``"08:30"`` -> 510, ``"24:00"`` -> 1440."""
    hours, _, minutes = hhmm.partition(":")
    return int(hours) * 60 + int(minutes)


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


WEEKDAYS = [Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI]
EVERY_DAY = list(Weekday)


class _Section(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class VitalLimitsPlan(_Section):
    hr_low_bpm: Annotated[float, Field(ge=20, le=100, allow_inf_nan=False)] = 40.0
    hr_high_bpm: Annotated[float, Field(ge=60, le=250, allow_inf_nan=False)] = 130.0
    spo2_low_pct: Annotated[float, Field(ge=70, le=99, allow_inf_nan=False)] = 90.0
    sustained_min: Annotated[float, Field(ge=1, le=60, allow_inf_nan=False)] = 2.0

    @model_validator(mode="after")
    def _ordered(self) -> VitalLimitsPlan:
        if self.hr_low_bpm >= self.hr_high_bpm:
            raise ValueError("hr_low_bpm must be below hr_high_bpm")
        return self


class WakingHours(_Section):
    wake: ClockTime = "07:00"
    sleep: ClockTime = "22:00"
    utc_offset_min: UtcOffset = CHINA_UTC_OFFSET_MIN

    @model_validator(mode="after")
    def _ordered(self) -> WakingHours:
        if minutes_of(self.wake) >= minutes_of(self.sleep):
            raise ValueError("wake must be before sleep (local time, same day)")
        return self


class Schedule(_Section):
    """When a fence is watched: ``days`` from ``start`` to ``end`` local time (same day; ``24:00`` ok)."""

    days: Annotated[list[Weekday], Field(min_length=1, max_length=7)] = WEEKDAYS
    start: ClockTime = "08:00"
    end: ClockTime = "16:30"
    utc_offset_min: UtcOffset = CHINA_UTC_OFFSET_MIN

    @field_validator("days")
    @classmethod
    def _unique(cls, days: list[Weekday]) -> list[Weekday]:
        if len(set(days)) != len(days):
            raise ValueError("days must not repeat")
        return days

    @model_validator(mode="after")
    def _ordered(self) -> Schedule:
        if minutes_of(self.start) >= minutes_of(self.end):
            raise ValueError("end must be after start; split an overnight window into two fences")
        return self


class HomePlan(_Section):
    """The smart service pack's settings for this person's home (learned per home; these override).

    ``usually_up_by`` replaces the learned getting-up time (a carer knows she sleeps late on Sundays —
    or always); ``night_start``/``night_end`` bound the night for the front door (across midnight);
    ``morning_grace_min`` is how long after the usual time nobody-up becomes an incident."""

    usually_up_by: ClockTime | None = None
    night_start: ClockTime = "23:00"
    night_end: ClockTime = "05:30"
    morning_grace_min: Annotated[int, Field(ge=10, le=240)] = 20


# Below the 5-minute heartbeat only for tests and demos (a short threshold reports every device).
SilentMinutes = Annotated[float, Field(ge=0.05, le=7 * 24 * 60, allow_inf_nan=False)]


class SilencePlan(_Section):
    """Minutes without any message after which a device is reported silent, per device kind."""

    sos_card_min: SilentMinutes = 30.0
    wearable_min: SilentMinutes = 10.0
    child_monitor_min: SilentMinutes = 10.0


FenceName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]


class CircleFencePlan(_Section):
    shape: Literal["circle"] = "circle"
    name: FenceName
    lat: Latitude
    lon: Longitude
    radius_m: Annotated[float, Field(ge=10, le=50_000, allow_inf_nan=False)]
    schedule: Schedule | None = None


class PolygonFencePlan(_Section):
    shape: Literal["polygon"]
    name: FenceName
    vertices: Annotated[list[tuple[Latitude, Longitude]], Field(min_length=3, max_length=MAX_VERTICES)]
    schedule: Schedule | None = None


FencePlan = Annotated[CircleFencePlan | PolygonFencePlan, Field(discriminator="shape")]


class CarePlan(_Section):
    """The whole plan; ``PUT`` replaces it (missing sections take their defaults)."""

    vitals: VitalLimitsPlan = VitalLimitsPlan()
    waking_hours: WakingHours = WakingHours()
    fences: Annotated[list[FencePlan], Field(max_length=MAX_FENCES)] = []
    vehicle_kmh: Annotated[float, Field(ge=5, le=200, allow_inf_nan=False)] = 25.0
    wearable_placement: Literal["waist", "pendant", "wrist"] | None = None
    home: HomePlan = HomePlan()
    silence: SilencePlan = SilencePlan()

    @field_validator("fences", mode="before")
    @classmethod
    def _circle_by_default(cls, fences: object) -> object:
        if isinstance(fences, list):
            return [
                {**f, "shape": "circle"} if isinstance(f, dict) and "shape" not in f else f for f in fences
            ]
        return fences

    @field_validator("fences")
    @classmethod
    def _unique_names(
        cls, fences: list[CircleFencePlan | PolygonFencePlan]
    ) -> list[CircleFencePlan | PolygonFencePlan]:
        names = [f.name for f in fences]
        if len(set(names)) != len(names):
            raise ValueError("fence names must be unique within a plan")
        return fences


DEFAULT_CARE_PLAN = CarePlan()
