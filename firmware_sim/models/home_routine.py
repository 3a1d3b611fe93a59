"""An older person's day at home, room by room (simulated): where they are and how much they move.

Each home draws its habits once (usual wake and bed time, how often they shop, nap, get up at night);
each day's plan is drawn from those habits with its own generator, so a day never depends on how the
simulation was stepped. A plan is a list of :class:`Stay` (from ``start_min``, in ``room`` — ``None`` =
out of the home — moving ``rate`` PIR triggers a minute).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contracts.home import Room

ACTIVE = 1.5  # PIR triggers per minute while busy (kitchen, bathroom)
RESTING = 0.5  # sitting, TV
NAPPING = 0.05
ASLEEP = 0.02


@dataclass(frozen=True, slots=True)
class Stay:
    start_min: float  # minutes after local midnight
    room: Room | None  # None: out of the home
    rate: float  # PIR triggers per minute in that room


@dataclass(frozen=True, slots=True)
class Habits:
    wake_min: float  # usual getting-up time
    wake_sd_min: float
    bed_min: float
    shop_share: float  # share of days with a shopping trip (door at shopping time)
    nap_share: float
    night_trip_share: float  # share of nights with a bathroom trip

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Habits:
        return cls(
            wake_min=float(rng.uniform(6 * 60, 7 * 60 + 45)),
            wake_sd_min=float(rng.uniform(8.0, 15.0)),
            bed_min=float(rng.uniform(21 * 60, 22 * 60 + 30)),
            shop_share=float(rng.uniform(0.5, 0.9)),
            nap_share=float(rng.uniform(0.3, 0.8)),
            night_trip_share=float(rng.uniform(0.2, 0.6)),
        )


@dataclass(frozen=True, slots=True)
class DayPlan:
    up_min: float  # when the person gets up (ground truth of the morning)
    stays: tuple[Stay, ...]
    outings: tuple[tuple[float, float], ...]  # (leave, back) minutes: the door opens at both

    def at(self, minute: float) -> Stay:
        current = self.stays[0]
        for stay in self.stays:
            if stay.start_min > minute:
                break
            current = stay
        return current


def plan_day(habits: Habits, rng: np.random.Generator) -> DayPlan:
    """One ordinary day (midnight to midnight, local time)."""
    wake = float(np.clip(rng.normal(habits.wake_min, habits.wake_sd_min), 5 * 60, 9 * 60))
    bed = float(np.clip(rng.normal(habits.bed_min, 15.0), 20 * 60 + 30, 23 * 60 + 30))
    stays = [Stay(0.0, Room.BEDROOM, ASLEEP)]
    if rng.random() < habits.night_trip_share:
        trip = float(rng.uniform(90, 210))
        stays += [Stay(trip, Room.BATHROOM, ACTIVE), Stay(trip + 6, Room.BEDROOM, ASLEEP)]
    stays += [
        Stay(wake, Room.BATHROOM, ACTIVE),
        Stay(wake + 10, Room.KITCHEN, ACTIVE),  # breakfast
        Stay(wake + 40, Room.LIVING_ROOM, RESTING),
    ]
    outings: list[tuple[float, float]] = []
    lunch = float(rng.normal(11 * 60 + 40, 10))
    if rng.random() < habits.shop_share:  # shopping in the morning
        leave = max(wake + 50, float(rng.uniform(8 * 60 + 30, 10 * 60 + 15)))
        back = leave + float(rng.uniform(40, 100))
        outings.append((leave, back))
        stays += [Stay(leave, None, 0.0), Stay(back, Room.LIVING_ROOM, RESTING)]
        lunch = max(lunch, back + 10)
    stays += [Stay(lunch, Room.KITCHEN, ACTIVE), Stay(lunch + 40, Room.LIVING_ROOM, RESTING)]
    if rng.random() < habits.nap_share:
        nap = lunch + 60 + float(rng.uniform(0, 30))
        stays += [
            Stay(nap, Room.BEDROOM, NAPPING),
            Stay(nap + float(rng.uniform(40, 80)), Room.LIVING_ROOM, RESTING),
        ]
    afternoon = float(rng.uniform(15 * 60, 16 * 60 + 30))
    stays += [Stay(afternoon, Room.BATHROOM, ACTIVE), Stay(afternoon + 6, Room.LIVING_ROOM, RESTING)]
    dinner = float(rng.normal(17 * 60 + 40, 15))
    stays += [Stay(dinner, Room.KITCHEN, ACTIVE), Stay(dinner + 45, Room.LIVING_ROOM, RESTING)]
    stays += [Stay(bed - 12, Room.BATHROOM, ACTIVE), Stay(bed, Room.BEDROOM, ASLEEP)]
    ordered = sorted(stays, key=lambda s: s.start_min)
    return DayPlan(up_min=wake, stays=tuple(ordered), outings=tuple(outings))


def expected_counts(plan: DayPlan, start_min: float, end_min: float) -> dict[Room, float]:
    """Expected PIR triggers per room over [start_min, end_min) of the plan's day."""
    expected: dict[Room, float] = {}
    stays = plan.stays
    for i, stay in enumerate(stays):
        stop = stays[i + 1].start_min if i + 1 < len(stays) else 1440.0
        lo, hi = max(stay.start_min, start_min), min(stop, end_min)
        if hi > lo and stay.room is not None:
            expected[stay.room] = expected.get(stay.room, 0.0) + (hi - lo) * stay.rate
    return expected
