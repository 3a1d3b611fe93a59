"""The detector settings a care plan gives (pure): vital limits, waking hours, fences with schedules,
vehicle speed — in the types of :mod:`edge.detection`."""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.care_plan import CarePlan, CircleFencePlan, PolygonFencePlan, Schedule, minutes_of
from edge import detection as det

DAY_NUMBER = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """What one device's detectors are built with; the defaults are the detection package's own."""

    vitals: det.VitalLimits = field(default_factory=det.VitalLimits)
    inactivity: det.InactivityConfig = field(default_factory=det.InactivityConfig)
    fences: tuple[det.CircleFence | det.PolygonFence, ...] = ()
    child: det.ChildMonitorConfig = field(default_factory=det.ChildMonitorConfig)


DEFAULT_CONFIG = DetectorConfig()


def _schedule(spec: Schedule | None) -> det.WeeklySchedule | None:
    if spec is None:
        return None
    return det.WeeklySchedule(
        days=frozenset(DAY_NUMBER[d] for d in spec.days),
        start_min=minutes_of(spec.start),
        end_min=minutes_of(spec.end),
        utc_offset_min=spec.utc_offset_min,
    )


def _fence(spec: CircleFencePlan | PolygonFencePlan) -> det.CircleFence | det.PolygonFence:
    schedule = _schedule(spec.schedule)
    if isinstance(spec, PolygonFencePlan):
        return det.PolygonFence(name=spec.name, vertices=tuple(spec.vertices), schedule=schedule)
    return det.CircleFence(
        name=spec.name, lat=spec.lat, lon=spec.lon, radius_m=spec.radius_m, schedule=schedule
    )


def detector_config(plan: CarePlan | None) -> DetectorConfig:
    """The detector settings a plan asks for (no plan: the defaults)."""
    if plan is None:
        return DEFAULT_CONFIG
    v, w = plan.vitals, plan.waking_hours
    return DetectorConfig(
        vitals=det.VitalLimits(
            hr_low_bpm=v.hr_low_bpm,
            hr_high_bpm=v.hr_high_bpm,
            spo2_low_pct=v.spo2_low_pct,
            sustain_s=v.sustained_min * 60.0,
        ),
        inactivity=det.InactivityConfig(
            wake_min=minutes_of(w.wake), sleep_min=minutes_of(w.sleep), utc_offset_min=w.utc_offset_min
        ),
        fences=tuple(_fence(f) for f in plan.fences),
        child=det.ChildMonitorConfig(vehicle_kmh=plan.vehicle_kmh),
    )
