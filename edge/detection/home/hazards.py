"""Smoke, gas and water alarms: raised at once, a detector that alarms again and again muted as faulty.

The rule (docs/detection.md):

1. An alarm from a sensor that has not started an alarm in the last ``repeat_window_s`` is a hazard
   **at once**: smoke and gas P1, water P2. No model waits for a fire.
2. A sensor that starts alarming again within that window, with nothing else in the home agreeing, is
   *repeating*: the repeat is muted and the sensor gets one ``sensor_fault`` (device health) for the
   whole spell. The first alarm's incident is still open at the center, so nothing is dropped.
3. Corroboration always wins: another hazard sensor alarming, the pull-cord, or a burst of motion (see
   :class:`~edge.detection.home.config.HomeConfig`) within ``corroboration_s`` before or after a muted
   alarm raises the hazard after all (reason ``corroborated_by_...``).
4. The mute lifts when the sensor has been quiet for ``repeat_window_s``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from edge.detection.events import EventKind
from edge.detection.home.config import HomeConfig, SensorInfo, local_clock
from edge.detection.home.events import HomeEvent

HAZARD_KIND = {"smoke": EventKind.SMOKE, "gas": EventKind.GAS, "water": EventKind.WATER_LEAK}
WHAT_EN = {"smoke": "Smoke alarm", "gas": "Gas alarm", "water": "Water leak"}
WHAT_ZH = {"smoke": "烟雾报警", "gas": "燃气报警", "water": "漏水报警"}


@dataclass(slots=True)
class _Sensor:
    info: SensorInfo
    onsets: deque[int] = field(default_factory=deque)
    active: bool = False
    muted: bool = False
    muted_alarms: int = 0
    pending: list[tuple[int, str]] = field(default_factory=list)  # muted alarms: (onset, hazard)


class HazardWatch:
    """One per home: feed :meth:`alarm`, :meth:`clear` and every corroborating sign (:meth:`corroborate`)."""

    def __init__(self, hub_id: str, config: HomeConfig) -> None:
        self.hub_id = hub_id
        self.config = config
        self._sensors: dict[str, _Sensor] = {}
        self._signals: deque[tuple[int, str, str]] = deque()  # (t, what, sensor id) recent corroborations

    def _state(self, sensor: SensorInfo) -> _Sensor:
        state = self._sensors.get(sensor.sensor_id)
        if state is None:
            state = self._sensors[sensor.sensor_id] = _Sensor(sensor)
        return state

    def muted(self, sensor_id: str) -> bool:
        state = self._sensors.get(sensor_id)
        return state is not None and state.muted

    def alarm(self, t_ms: int, sensor: SensorInfo, hazard: str) -> list[HomeEvent]:
        """The sensor reports ``hazard`` in alarm at ``t_ms``."""
        state = self._state(sensor)
        window_ms = round(self.config.repeat_window_s * 1000)
        self._expire(state, t_ms, window_ms)
        if state.active:
            return []  # still the same alarm (re-reported without a clear in between)
        state.active = True
        repeating = bool(state.onsets)
        state.onsets.append(t_ms)
        # every alarm also corroborates the *other* sensors' muted alarms
        events = self.corroborate(t_ms, f"{hazard}_alarm", sensor.sensor_id)
        if not repeating:
            return [*events, self._hazard(t_ms, t_ms, sensor, hazard, None)]
        agreeing = self._agreeing(t_ms, sensor.sensor_id)
        if agreeing is not None:
            return [*events, self._hazard(t_ms, t_ms, sensor, hazard, agreeing)]
        state.pending.append((t_ms, hazard))
        state.muted_alarms += 1
        if state.muted:
            return events
        state.muted = True
        return [*events, self._fault(t_ms, sensor, hazard, len(state.onsets))]

    def clear(self, t_ms: int, sensor: SensorInfo) -> list[HomeEvent]:
        self._state(sensor).active = False
        return []

    def corroborate(self, t_ms: int, what: str, sensor_id: str = "") -> list[HomeEvent]:
        """Something else in the home happened (pull-cord, door, motion burst, another alarm): raise any
        muted alarm of another sensor within ``corroboration_s`` of it."""
        window_ms = round(self.config.corroboration_s * 1000)
        self._signals.append((t_ms, what, sensor_id))
        while self._signals and self._signals[0][0] < t_ms - window_ms:
            self._signals.popleft()
        events: list[HomeEvent] = []
        for other_id, state in self._sensors.items():
            if other_id == sensor_id or not state.pending:
                continue
            keep = []
            for onset, hazard in state.pending:
                if abs(t_ms - onset) <= window_ms:
                    events.append(self._hazard(t_ms, onset, state.info, hazard, what))
                elif onset > t_ms - window_ms:
                    keep.append((onset, hazard))
            state.pending = keep
        return events

    def _agreeing(self, t_ms: int, sensor_id: str) -> str | None:
        window_ms = round(self.config.corroboration_s * 1000)
        for t, what, source in reversed(self._signals):
            if source != sensor_id and abs(t_ms - t) <= window_ms:
                return what
        return None

    def _expire(self, state: _Sensor, t_ms: int, window_ms: int) -> None:
        while state.onsets and state.onsets[0] <= t_ms - window_ms:
            state.onsets.popleft()
        if not state.onsets:
            state.muted, state.muted_alarms = False, 0
        state.pending = [
            (t, h) for t, h in state.pending if t > t_ms - round(self.config.corroboration_s * 1000)
        ]

    def _hazard(
        self, t_ms: int, onset_ms: int, sensor: SensorInfo, hazard: str, corroborated_by: str | None
    ) -> HomeEvent:
        where_en = f" in the {sensor.room.replace('_', ' ')}" if sensor.room else ""
        at = local_clock(onset_ms, self.config)
        reason = "alarm" if corroborated_by is None else f"corroborated_by_{corroborated_by}"
        extra_en = (
            "" if corroborated_by is None else f" (repeating detector, corroborated by {corroborated_by})"
        )
        extra_zh = "" if corroborated_by is None else "（反复报警但有其他迹象印证）"
        return HomeEvent(
            kind=HAZARD_KIND[hazard],
            source_id=self.hub_id,
            t_ms=t_ms,
            onset_ms=onset_ms,
            reason=f"{hazard}_{reason}",
            sensor_id=sensor.sensor_id,
            sensor_kind=sensor.kind or None,
            room=sensor.room,
            text_en=f"{WHAT_EN[hazard]}{where_en} at {at} ({sensor.sensor_id}){extra_en}",
            text_zh=f"{at} {WHAT_ZH[hazard]}（{sensor.sensor_id}）{extra_zh}",
        )

    def _fault(self, t_ms: int, sensor: SensorInfo, hazard: str, onsets: int) -> HomeEvent:
        window_min = round(self.config.repeat_window_s / 60)
        return HomeEvent(
            kind=EventKind.SENSOR_FAULT,
            source_id=self.hub_id,
            t_ms=t_ms,
            onset_ms=self._sensors[sensor.sensor_id].onsets[0],
            reason="repeated_alarms_muted",
            measures=(("alarms_in_window", float(onsets)), ("window_min", float(window_min))),
            sensor_id=sensor.sensor_id,
            sensor_kind=sensor.kind or None,
            room=sensor.room,
            text_en=(
                f"{WHAT_EN[hazard]} from {sensor.sensor_id} started {onsets} times within {window_min} min "
                "with nothing else in the home agreeing: muted as faulty, please check the detector"
            ),
            text_zh=f"{sensor.sensor_id}在{window_min}分钟内反复报警{onsets}次且无其他迹象印证，疑似故障已屏蔽，请检修",
        )
