"""The front door at night: left open (P3), or used with nobody coming back (P2, wandering)."""

from __future__ import annotations

from edge.detection.events import EventKind
from edge.detection.home.config import HomeConfig, in_window, local_clock, local_minute, span_text
from edge.detection.home.events import HomeEvent
from edge.detection.time_order import TimeOrder


class NightDoorWatch:
    """One per home. A door event inside the night window (``night_start_min`` .. ``night_end_min``):

    * the door stays open for ``door_open_night_s`` → ``door_open_night``;
    * no motion inside the home for ``wandering_after_s`` after the door was used (motion counted only
      over intervals that start after the door event) → ``night_wandering``: the person went out at
      night and did not come back. Someone moving inside cancels it. The next door use after such an exit
      is the return, not another exit.
    """

    def __init__(self, hub_id: str, config: HomeConfig) -> None:
        self.hub_id = hub_id
        self.config = config
        self._order = TimeOrder()
        self._open_since: int | None = None
        self._open_sensor: tuple[str, str | None] | None = None
        self._open_alarmed = False
        self._pending: tuple[int, str, str | None] | None = None  # door used at night, no motion since
        self._out = False  # a night exit was raised and nobody has moved inside since

    def door(self, t_ms: int, is_open: bool, sensor_id: str, room: str | None) -> list[HomeEvent]:
        events = self.tick(t_ms)
        night = in_window(
            local_minute(t_ms, self.config), self.config.night_start_min, self.config.night_end_min
        )
        if is_open:
            if self._open_since is None:
                self._open_since, self._open_sensor, self._open_alarmed = t_ms, (sensor_id, room), False
        else:
            self._open_since = None
        if self._out:  # the door after a night exit with nobody inside: the person is back (or found)
            if not is_open:
                self._out = False
        elif night:
            self._pending = (t_ms, sensor_id, room)
        return events

    def motion(self, t_ms: int, interval_s: int, count: int) -> list[HomeEvent]:
        """Taken into account before judging at ``t_ms`` (the count covers the interval before it)."""
        self._order.check(t_ms)
        pending = self._pending
        if count > 0:
            self._out = False
        if count > 0 and pending is not None and t_ms - interval_s * 1000 >= pending[0]:
            self._pending = None  # someone is inside after the door was used
        return self.tick(t_ms)

    def tick(self, t_ms: int) -> list[HomeEvent]:
        self._order.advance(t_ms)
        cfg = self.config
        events: list[HomeEvent] = []
        since = self._open_since
        if since is not None and not self._open_alarmed and t_ms - since >= cfg.door_open_night_s * 1000:
            night = in_window(local_minute(since, cfg), cfg.night_start_min, cfg.night_end_min)
            if night:
                self._open_alarmed = True
                assert self._open_sensor is not None
                sensor_id, room = self._open_sensor
                span_en, span_zh = span_text((t_ms - since) / 1000)
                events.append(
                    self._event(
                        EventKind.DOOR_OPEN_NIGHT,
                        t_ms,
                        since,
                        "door_open_at_night",
                        sensor_id=sensor_id,
                        room=room,
                        text_en=f"front door open since {local_clock(since, cfg)} ({span_en}) at night",
                        text_zh=f"入户门自{local_clock(since, cfg)}起夜间未关（{span_zh}）",
                    )
                )
        pending = self._pending
        if pending is not None and t_ms - pending[0] >= cfg.wandering_after_s * 1000:
            self._pending, self._out = None, True
            door_at, sensor_id, room = pending
            span_en, span_zh = span_text((t_ms - door_at) / 1000)
            events.append(
                self._event(
                    EventKind.NIGHT_WANDERING,
                    t_ms,
                    door_at,
                    "door_at_night_no_return",
                    sensor_id=sensor_id,
                    room=room,
                    text_en=f"front door used at {local_clock(door_at, cfg)} at night;"
                    f" no movement at home since ({span_en})",
                    text_zh=f"夜间{local_clock(door_at, cfg)}入户门开启，此后{span_zh}家中无活动，"
                    "疑似外出未归",
                )
            )
        return events

    def _event(
        self,
        kind: EventKind,
        t_ms: int,
        onset_ms: int,
        reason: str,
        *,
        sensor_id: str,
        room: str | None,
        text_en: str,
        text_zh: str,
    ) -> HomeEvent:
        return HomeEvent(
            kind=kind,
            source_id=self.hub_id,
            t_ms=t_ms,
            onset_ms=onset_ms,
            reason=reason,
            sensor_id=sensor_id,
            sensor_kind="door_contact",
            room=room,
            text_en=text_en,
            text_zh=text_zh,
        )
