"""One home: its hub's sensor messages routed to the hazard, routine and night-door watches.

Every input returns the events it completed. A message naming a sensor the monitor does not know is the
caller's business (the gateway refuses a hub publishing for a sensor not registered to it); here it is
treated as a sensor of unknown room.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

import numpy as np

from edge.detection.events import EventKind
from edge.detection.home.config import HomeConfig, SensorInfo, local_clock
from edge.detection.home.events import HomeEvent
from edge.detection.home.hazards import HazardWatch
from edge.detection.home.night_door import NightDoorWatch
from edge.detection.home.routine import RoutineWatch

BURST_HISTORY = 4_000
BURST_REFRESH = 200


class HomeMonitor:
    def __init__(
        self, hub_id: str, sensors: Mapping[str, SensorInfo] | None = None, config: HomeConfig | None = None
    ) -> None:
        self.hub_id = hub_id
        self.config = config if config is not None else HomeConfig()
        self.sensors = dict(sensors or {})
        self.hazards = HazardWatch(hub_id, self.config)
        self.routine = RoutineWatch(hub_id, self.config)
        self.night = NightDoorWatch(hub_id, self.config)
        self._counts: deque[int] = deque(maxlen=BURST_HISTORY)
        self._burst_level: float | None = None
        self._seen_counts = 0
        self._low_battery: set[str] = set()
        self._tampered: set[str] = set()

    def reconfigure(self, config: HomeConfig) -> bool:
        """Apply changed settings (a care-plan change); the learned routine is kept. True if changed."""
        if config == self.config:
            return False
        self.config = config
        for watch in (self.hazards, self.routine, self.night):
            watch.config = config
        self.routine.forget_cache()
        return True

    def sensor(self, sensor_id: str) -> SensorInfo:
        return self.sensors.get(sensor_id) or SensorInfo(sensor_id=sensor_id, kind="", room=None)

    def hazard(self, t_ms: int, sensor_id: str, hazard: str, alarm: bool) -> list[HomeEvent]:
        info = self.sensor(sensor_id)
        if alarm:
            return self.hazards.alarm(t_ms, info, hazard)
        return self.hazards.clear(t_ms, info)

    def pull_cord(self, t_ms: int, sensor_id: str) -> list[HomeEvent]:
        """The cord itself is an alarm the gateway raises directly (like SOS); here it corroborates."""
        return self.hazards.corroborate(t_ms, "pull_cord", sensor_id)

    def door(self, t_ms: int, sensor_id: str, is_open: bool) -> list[HomeEvent]:
        info = self.sensor(sensor_id)
        events = self.routine.door(t_ms)
        events += self.night.door(t_ms, is_open, sensor_id, info.room)
        return events

    def motion(self, t_ms: int, sensor_id: str, count: int, interval_s: int) -> list[HomeEvent]:
        info = self.sensor(sensor_id)
        events = self.routine.motion(t_ms, info.room, count, interval_s)
        events += self.night.motion(t_ms, interval_s, count)
        if self._is_burst(count):
            events += self.hazards.corroborate(t_ms, "motion_burst", sensor_id)
        return events

    def sensor_status(
        self, t_ms: int, sensor_id: str, *, low_battery: bool, tamper: bool, battery_pct: int | None
    ) -> list[HomeEvent]:
        info = self.sensor(sensor_id)
        events: list[HomeEvent] = []
        measures = () if battery_pct is None else (("battery_pct", float(battery_pct)),)
        where = f" ({info.room.replace('_', ' ')})" if info.room else ""
        at = local_clock(t_ms, self.config)
        if low_battery and sensor_id not in self._low_battery:
            events.append(
                self._status_event(
                    EventKind.LOW_BATTERY,
                    t_ms,
                    info,
                    "sensor_low_battery",
                    measures=measures,
                    text_en=f"sensor {sensor_id}{where} battery low at {at}: replace it",
                    text_zh=f"{at} 传感器{sensor_id}电量低，请更换电池",
                )
            )
        if tamper and sensor_id not in self._tampered:
            events.append(
                self._status_event(
                    EventKind.SENSOR_FAULT,
                    t_ms,
                    info,
                    "sensor_tamper",
                    measures=measures,
                    text_en=f"sensor {sensor_id}{where} opened or removed at {at}",
                    text_zh=f"{at} 传感器{sensor_id}被拆开或移除",
                )
            )
        self._low_battery = self._low_battery - {sensor_id} | ({sensor_id} if low_battery else set())
        self._tampered = self._tampered - {sensor_id} | ({sensor_id} if tamper else set())
        return events

    def tick(self, t_ms: int) -> list[HomeEvent]:
        return self.routine.tick(t_ms) + self.night.tick(t_ms)

    def _is_burst(self, count: int) -> bool:
        """A motion count well above this home's usual busiest interval (a high quantile, learned)."""
        self._counts.append(count)
        self._seen_counts += 1
        if self._burst_level is None or self._seen_counts % BURST_REFRESH == 0:
            self._burst_level = float(np.quantile(np.asarray(self._counts), 0.99))
        level = max(self.config.burst_min_count, self.config.burst_factor * self._burst_level)
        return count >= level

    def _status_event(
        self,
        kind: EventKind,
        t_ms: int,
        info: SensorInfo,
        reason: str,
        *,
        measures: tuple[tuple[str, float], ...],
        text_en: str,
        text_zh: str,
    ) -> HomeEvent:
        return HomeEvent(
            kind=kind,
            source_id=self.hub_id,
            t_ms=t_ms,
            onset_ms=t_ms,
            reason=reason,
            measures=measures,
            sensor_id=info.sensor_id,
            sensor_kind=info.kind or None,
            room=info.room,
            text_en=text_en,
            text_zh=text_zh,
        )
