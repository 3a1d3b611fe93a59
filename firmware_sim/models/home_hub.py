"""The smart service pack's home hub (智慧助老服务包): it publishes for its sensors on its own topics.

Routine (from :mod:`firmware_sim.models.home_routine`): a PIR count per room every 5 minutes (also 0),
the door at shopping time, the kitchen in the morning, at noon and in the evening. Scripted hazards and
faults (scenario kinds): ``smoke``, ``gas``, ``tap_running`` (water leak), ``pull_cord`` (``sos`` too),
``nobody_up`` (no movement from then on), ``wandering`` (out of the door at night, not back),
``door_left_open``, ``stuck_detector`` (alarms every few minutes), ``sensor_low_battery``, ``tamper``.
The hub is on mains power (``charging``), its battery only a backup.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

import numpy as np

from contracts import DeviceKind, UplinkChannel
from contracts.home import (
    STANDARD_PACK,
    DoorState,
    Hazard,
    HazardAlarm,
    MotionCount,
    PullCordAlarm,
    Room,
    SensorStatus,
    sensor_id,
)
from firmware_sim.models.base import CST_OFFSET_MS, DAY_MS, DeviceModel, Injection, Outgoing
from firmware_sim.models.home_routine import DayPlan, Habits, expected_counts, plan_day

MOTION_INTERVAL_S = 300
DOOR_CLOSE_AFTER_MS = 20_000
HAZARD_SENSOR = {"smoke": "smoke", "gas": "gas", "water": "water"}
Action = tuple[str, tuple[Any, ...]]


def local_day(now_ms: int) -> int:
    return (now_ms + CST_OFFSET_MS) // DAY_MS


def day_start_ms(day: int) -> int:
    return day * DAY_MS - CST_OFFSET_MS


def clock(minute: float) -> str:
    m = round(minute) % 1440
    return f"{m // 60:02d}:{m % 60:02d}"


class HomeHub(DeviceModel):
    kind = DeviceKind.HOME_HUB
    heartbeat_s = 300
    drain_pct_per_h = 0.0

    def __init__(self, device_id: str, subject_id: str, rng: np.random.Generator, start_ms: int) -> None:
        super().__init__(device_id, subject_id, rng, start_ms)
        self.battery, self.charging = 100.0, True  # mains powered
        self.sensors = {s.suffix: sensor_id(device_id, s.suffix) for s in STANDARD_PACK}
        self.rooms = {s.suffix: s.room for s in STANDARD_PACK}
        self.pirs = {
            s.room: sensor_id(device_id, s.suffix) for s in STANDARD_PACK if s.suffix.startswith("pir")
        }
        self.habits = Habits.draw(rng)
        self._day_seed = int(rng.integers(2**62))
        self.plans: dict[int, DayPlan] = {}
        self._actions: list[tuple[int, int, Action]] = []  # (due, order, action), sorted
        self._order = 0
        self.still_from: int | None = None  # nobody_up: no movement at all from then
        self.still_until = 0
        self.gone_until = 0  # out of the home (wandering) until
        self.door_open = False
        first = (start_ms // (MOTION_INTERVAL_S * 1000) + 1) * MOTION_INTERVAL_S * 1000
        self._timers["motion"] = first
        self._timers["sensors"] = day_start_ms(local_day(start_ms) + 1) + 3 * 3_600_000
        self._plan_days(start_ms)

    def handlers(self) -> dict[str, Callable[[int], list[Outgoing]]]:
        return {
            **super().handlers(),
            "motion": self._on_motion,
            "action": self._on_action,
            "sensors": self._on_sensors,
        }

    def _maybe_charge(self, now_ms: int) -> None:
        self.charging = True  # on mains

    # -- the day plan ------------------------------------------------------------------------------
    def plan(self, day: int) -> DayPlan:
        if day not in self.plans:
            self.plans[day] = plan_day(self.habits, np.random.default_rng([self._day_seed, day]))
        return self.plans[day]

    def _plan_days(self, now_ms: int) -> None:
        """Plan today and tomorrow, scheduling their door events (once per day)."""
        for day in (local_day(now_ms), local_day(now_ms) + 1):
            if day in self.plans:
                continue
            plan = self.plan(day)
            base = day_start_ms(day)
            for leave, back in plan.outings:
                for minute in (leave, back):
                    t = base + int(minute * 60_000)
                    if t > now_ms:  # the routine's door: only if the person is up and about then
                        self._schedule(t, ("routine_door", (True,)))
                        self._schedule(t + DOOR_CLOSE_AFTER_MS, ("routine_door", (False,)))
            self.plans = {d: p for d, p in self.plans.items() if d >= day - 2}

    def _schedule(self, due_ms: int, action: Action) -> None:
        self._order += 1
        bisect.insort(self._actions, (due_ms, self._order, action))
        self._timers["action"] = self._actions[0][0]

    def shift(self, delta_ms: int) -> None:
        super().shift(delta_ms)
        self._actions = [(due + delta_ms, n, a) for due, n, a in self._actions]

    # -- timers ------------------------------------------------------------------------------------
    def _on_motion(self, now_ms: int) -> list[Outgoing]:
        self._timers["motion"] = now_ms + MOTION_INTERVAL_S * 1000
        self._plan_days(now_ms)
        start_ms = now_ms - MOTION_INTERVAL_S * 1000
        expected = self._expected(start_ms, now_ms)
        out = []
        for room, sid in sorted(self.pirs.items()):
            count = int(self.rng.poisson(expected.get(room, 0.0)))
            msg = MotionCount(
                device_id=self.device_id,
                boot=self.boot,
                seq=self.next_seq(),
                ts=self.ts(now_ms),
                sensor_id=sid,
                interval_s=MOTION_INTERVAL_S,
                count=count,
            )
            out.append(Outgoing(UplinkChannel.MOTION, msg))
        return out

    def about(self, now_ms: int) -> bool:
        """The person is at home and moving (not lying still since ``nobody_up``, not out at night)."""
        still = self.still_from is not None and self.still_from <= now_ms < self.still_until
        return not still and self.gone_until <= now_ms

    def _expected(self, start_ms: int, end_ms: int) -> dict[Room, float]:
        if self.gone_until >= end_ms or (
            self.still_from is not None and self.still_from <= start_ms and self.still_until >= end_ms
        ):
            return {}
        day = local_day(start_ms)
        base = day_start_ms(day)
        lo, hi = (start_ms - base) / 60_000, (end_ms - base) / 60_000
        return expected_counts(self.plan(day), lo, min(hi, 1440.0))

    def _on_action(self, now_ms: int) -> list[Outgoing]:
        out: list[Outgoing] = []
        while self._actions and self._actions[0][0] <= now_ms:
            _, _, (name, args) = self._actions.pop(0)
            if name == "door" or (name == "routine_door" and self.about(now_ms)):
                out += self.door(now_ms, *args)
            elif name == "hazard":
                out += self.hazard(now_ms, *args)
        if self._actions:
            self._timers["action"] = self._actions[0][0]
        return out

    def _on_sensors(self, now_ms: int) -> list[Outgoing]:
        self._timers["sensors"] = now_ms + DAY_MS
        return [self.sensor_status(now_ms, suffix) for suffix in self.sensors if not suffix.startswith("pir")]

    # -- messages ----------------------------------------------------------------------------------
    def door(self, now_ms: int, is_open: bool) -> list[Outgoing]:
        self.door_open = is_open
        msg = DoorState(
            device_id=self.device_id,
            boot=self.boot,
            seq=self.next_seq(),
            ts=self.ts(now_ms),
            sensor_id=self.sensors["door"],
            state="open" if is_open else "closed",
        )
        return [Outgoing(UplinkChannel.DOOR, msg)]

    def hazard(self, now_ms: int, hazard: str, alarm: bool) -> list[Outgoing]:
        msg = HazardAlarm(
            device_id=self.device_id,
            boot=self.boot,
            seq=self.next_seq(),
            ts=self.ts(now_ms),
            sensor_id=self.sensors[HAZARD_SENSOR[hazard]],
            hazard=Hazard(hazard),
            state="alarm" if alarm else "clear",
        )
        return [Outgoing(UplinkChannel.HAZARD, msg)]

    def sensor_status(
        self,
        now_ms: int,
        suffix: str,
        *,
        low_battery: bool = False,
        tamper: bool = False,
        pct: int | None = None,
    ) -> Outgoing:
        msg = SensorStatus(
            device_id=self.device_id,
            boot=self.boot,
            seq=self.next_seq(),
            ts=self.ts(now_ms),
            sensor_id=self.sensors[suffix],
            battery_pct=pct if pct is not None else (9 if low_battery else 80),
            low_battery=low_battery,
            tamper=tamper,
        )
        return Outgoing(UplinkChannel.SENSOR, msg)

    def pull_cord(self, now_ms: int) -> list[Outgoing]:
        """The pull-cord: an alarm like SOS, sent again (same bytes) until the gateway confirms it."""
        seq = self.next_seq()
        self.open_alarms.add(seq)
        msg = PullCordAlarm(
            device_id=self.device_id,
            boot=self.boot,
            seq=seq,
            ts=self.ts(now_ms),
            sensor_id=self.sensors["cord"],
        )
        return [self.raise_alarm(seq, Outgoing(UplinkChannel.PULL_CORD, msg), now_ms)]

    # -- scenario events ---------------------------------------------------------------------------
    def inject(self, event: Injection, now_ms: int) -> list[Outgoing]:
        if event.kind == "sos":  # a home has no button: the pull-cord is its SOS
            return self.inject(Injection("pull_cord", event.params), now_ms)
        return super().inject(event, now_ms)

    def inject_specific(self, event: Injection, now_ms: int) -> list[Outgoing]:
        params = event.params
        duration_ms = int(float(params.get("duration_s", 0)) * 1000)
        kind = event.kind
        if kind in ("smoke", "gas", "tap_running"):
            hazard = "water" if kind == "tap_running" else kind
            self.injection_detail = self._where(HAZARD_SENSOR[hazard])
            self._schedule(now_ms + (duration_ms or 600_000), ("hazard", (hazard, False)))
            return self.hazard(now_ms, hazard, True)
        if kind == "pull_cord":
            self.injection_detail = self._where("cord")
            return self.pull_cord(now_ms)
        if kind == "stuck_detector":
            hazard = str(params.get("sensor") or "smoke")
            period_ms = int(float(params.get("period_s") or 240) * 1000)
            end = now_ms + (duration_ms or 2 * 3_600_000)
            self.injection_detail = {**self._where(HAZARD_SENSOR[hazard]), "period_s": period_ms // 1000}
            for t in range(now_ms, end, period_ms):
                self._schedule(t, ("hazard", (hazard, True)))
                self._schedule(t + 30_000, ("hazard", (hazard, False)))
            return self._on_action(now_ms)
        if kind == "nobody_up":
            day = local_day(now_ms)
            self.still_from, self.still_until = now_ms, now_ms + (duration_ms or 24 * 3_600_000)
            self.injection_detail = {
                "usual_up": clock(self.habits.wake_min),
                "planned_up": clock(self.plan(day).up_min),
            }
            return []
        if kind == "wandering":
            self.gone_until = back = now_ms + (duration_ms or 3 * 3_600_000)
            self._schedule(now_ms + DOOR_CLOSE_AFTER_MS, ("door", (False,)))
            self._schedule(back, ("door", (True,)))  # back home (found, or by themself)
            self._schedule(back + DOOR_CLOSE_AFTER_MS, ("door", (False,)))
            self.injection_detail = self._where("door")
            return self.door(now_ms, True)
        if kind == "door_left_open":
            self._schedule(now_ms + (duration_ms or 1_800_000), ("door", (False,)))
            self.injection_detail = self._where("door")
            return self.door(now_ms, True)
        if kind in ("sensor_low_battery", "tamper"):
            suffix = str(params.get("sensor") or ("water" if kind == "sensor_low_battery" else "door"))
            if suffix not in self.sensors:
                return super().inject_specific(event, now_ms)
            self.injection_detail = self._where(suffix)
            low = kind == "sensor_low_battery"
            return [self.sensor_status(now_ms, suffix, low_battery=low, tamper=not low)]
        return super().inject_specific(event, now_ms)

    def _where(self, suffix: str) -> dict[str, Any]:
        return {"sensor_id": self.sensors[suffix], "room": self.rooms[suffix].value}
