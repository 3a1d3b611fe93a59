"""Heart rate and SpO2 once a minute: baseline per person, activity response, drift, artifacts, dropouts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from firmware_sim.signals.accel import MOVING, Activity

ACTIVITY_HR = {
    Activity.SLEEP: -8.0,
    Activity.SIT: 0.0,
    Activity.LYING: 4.0,
    Activity.CHORES: 10.0,
    Activity.WALK: 16.0,
    Activity.STAIRS: 30.0,
    Activity.REMOVED: 0.0,
}


class Episode(StrEnum):
    """A physiological episode injected by a scenario."""

    NONE = "none"
    HR_HIGH = "hr_high"  # tachycardia, 125-150 bpm
    HR_LOW = "hr_low"  # bradycardia, 38-45 bpm
    SPO2_LOW = "spo2_low"  # desaturation, 84-88 %


@dataclass(frozen=True, slots=True)
class Reading:
    hr_bpm: int | None
    spo2_pct: int | None
    motion: bool


class VitalsSynth:
    """One reading per call; readings follow the activity with an AR(1) drift around the baseline."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self.baseline_hr = float(rng.normal(72.0, 7.0))
        self.baseline_spo2 = float(rng.uniform(95.0, 98.5))
        self._drift = 0.0
        self._hr = self.baseline_hr

    def reading(self, activity: Activity, *, worn: bool, episode: Episode = Episode.NONE) -> Reading:
        rng = self._rng
        if not worn or activity is Activity.REMOVED:
            return Reading(None, None, False)
        moving = activity in MOVING
        if rng.random() < 0.02:  # the optical sensor lost contact for this reading
            return Reading(None, None, moving)
        self._drift = 0.9 * self._drift + float(rng.normal(0.0, 1.2))
        target = self.baseline_hr + ACTIVITY_HR[activity] + self._drift
        if episode is Episode.HR_HIGH:
            target = float(rng.uniform(125.0, 150.0))
        elif episode is Episode.HR_LOW:
            target = float(rng.uniform(38.0, 45.0))
        self._hr += 0.6 * (target - self._hr)  # the heart does not jump in one minute
        hr = self._hr + float(rng.normal(0.0, 2.5))
        spo2 = self.baseline_spo2 + float(rng.normal(0.0, 0.7)) - (0.8 if activity is Activity.SLEEP else 0.0)
        if episode is Episode.SPO2_LOW:
            spo2 = float(rng.uniform(84.0, 88.0))
        if moving and rng.random() < 0.06:  # motion artifact: the sensor locks on cadence, not pulse
            hr = hr + float(rng.choice([-1, 1])) * float(rng.uniform(20.0, 40.0))
            spo2 = spo2 - float(rng.uniform(2.0, 6.0))
        return Reading(int(np.rint(np.clip(hr, 30, 220))), int(np.rint(np.clip(spo2, 70, 100))), moving)
