"""Inactivity at home, against the home's own learned routine.

Two checks, both only while the hub is reporting (motion counts arrive every few minutes, also when 0) and
the person is not out (a door event followed by no motion):

* **Morning**: nobody got up. "Up" is the first motion outside the bedroom after ``day_start_min``; the
  home's usual time is learned (a high quantile of the last weeks' up times, the care plan's wake time
  before that, or the care plan's explicit override). Reason: "no movement since 22:41; usually up by
  07:15".
* **Day**: a quiet spell longer than the home's usual longest (learned like
  :class:`~edge.detection.inactivity.InactivityDetector`: ``factor`` × a high quantile, clamped).

The event kind is ``inactivity``, the same as the wearable's, so the center fuses the home's and the
wearable's signals for the same person into one incident.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from edge.detection.events import EventKind
from edge.detection.home.config import (
    HomeConfig,
    clock,
    local_clock,
    local_day,
    local_minute,
    span_text,
)
from edge.detection.home.events import HomeEvent
from edge.detection.time_order import TimeOrder

BEDROOM = "bedroom"
PASSAGE_MS = 120_000  # door events this close together are one passage (open, close)


class RoutineWatch:
    """One per home. Feed :meth:`motion`, :meth:`door`; call :meth:`tick` with the current time."""

    def __init__(self, hub_id: str, config: HomeConfig) -> None:
        self.hub_id = hub_id
        self.config = config
        self._order = TimeOrder()
        self._last_report: int | None = None
        self._last_activity: int | None = None
        self._last_motion: int | None = None
        self._last_door: int | None = None  # the last passage that may have been going out
        self._passage: int | None = None  # the last door event (open and close: one passage)
        self._returned = False  # the last passage was coming back in
        self._up_day: int | None = None  # the local day the person was last seen getting up
        self._up_minutes: deque[int] = deque(maxlen=config.history_days)
        self._morning_alarmed_day: int | None = None
        self._quiet_alarmed = False
        self._gaps: deque[float] = deque(maxlen=500)
        self._learned_up: int | None = None  # cached quantiles, recomputed when a value is learned
        self._learned_quiet: float | None = None

    # -- what the routine has learned ------------------------------------------------------------
    def forget_cache(self) -> None:
        """The settings changed: recompute the learned thresholds with them."""
        self._learned_up = self._learned_quiet = None

    @property
    def learned_days(self) -> int:
        return len(self._up_minutes)

    def usually_up_by(self) -> tuple[int, bool]:
        """(minute of the day, learned or set by the care plan)."""
        cfg = self.config
        if cfg.usually_up_by_min is not None:
            return cfg.usually_up_by_min, True
        if len(self._up_minutes) < cfg.min_days:
            return cfg.wake_min, False
        if self._learned_up is None:
            self._learned_up = int(np.ceil(np.quantile(np.asarray(self._up_minutes), cfg.up_quantile)))
        return self._learned_up, True

    def quiet_threshold_s(self) -> float:
        cfg = self.config
        if len(self._gaps) < cfg.min_quiet_history:
            return cfg.quiet_default_s
        if self._learned_quiet is None:
            usual = float(np.quantile(np.asarray(self._gaps), cfg.quiet_quantile))
            self._learned_quiet = min(max(cfg.quiet_factor * usual, cfg.quiet_min_s), cfg.quiet_max_s)
        return self._learned_quiet

    def away(self, t_ms: int) -> bool:
        """The door was used and nobody moved inside since, for ``away_after_s``: the person went out.
        The next passage through the door while out is the return: home again, moving or not."""
        door = self._last_door
        if door is None or self._returned or (self._last_motion is not None and self._last_motion > door):
            return False
        return t_ms - door >= self.config.away_after_s * 1000

    # -- inputs ----------------------------------------------------------------------------------------
    def motion(self, t_ms: int, room: str | None, count: int, interval_s: int) -> list[HomeEvent]:
        """A motion report (``count`` triggers over the ``interval_s`` ending at ``t_ms``), taken into
        account before judging at ``t_ms``. Movement in an interval that began before the last door event
        may have been before the person left: it is activity, not proof that someone is inside."""
        self._order.check(t_ms)
        self._last_report = t_ms
        if count > 0:
            was_away = self.away(t_ms)
            door = self._last_door
            if door is None or t_ms - interval_s * 1000 >= door:
                self._last_motion = t_ms
            self._activity(t_ms, room, was_away)
        return self.tick(t_ms)

    def door(self, t_ms: int) -> list[HomeEvent]:
        """A door event; open and close within ``PASSAGE_MS`` are one passage, in or out."""
        self._order.check(t_ms)
        was_away = self.away(t_ms)
        if self._passage is None or t_ms - self._passage > PASSAGE_MS:
            if was_away:
                self._returned = True  # came back in: home, even lying still (a fall in the hall)
            else:
                self._last_door, self._returned = t_ms, False  # perhaps going out
        self._passage = t_ms
        self._activity(t_ms, None, was_away, up=False)
        return self.tick(t_ms)

    def _activity(self, t_ms: int, room: str | None, was_away: bool, *, up: bool = True) -> None:
        cfg = self.config
        day, minute = local_day(t_ms, cfg), local_minute(t_ms, cfg)
        last = self._last_activity
        if (
            last is not None
            and not was_away
            and not self._quiet_alarmed
            and self._up_day == day
            and local_day(last, cfg) == day
            and minute < cfg.sleep_min
        ):
            gap_s = (t_ms - last) / 1000
            if gap_s >= cfg.min_gap_to_learn_s:
                self._gaps.append(gap_s)
                self._learned_quiet = None
        self._last_activity = t_ms
        self._quiet_alarmed = False
        if up and room != BEDROOM and cfg.day_start_min <= minute < cfg.sleep_min and self._up_day != day:
            self._up_day = day
            if self._morning_alarmed_day != day and not was_away:
                self._up_minutes.append(minute)
                self._learned_up = None

    # -- the clock ---------------------------------------------------------------------------------------
    def tick(self, t_ms: int) -> list[HomeEvent]:
        self._order.advance(t_ms)
        cfg = self.config
        report = self._last_report
        if report is None or t_ms - report > cfg.hub_quiet_s * 1000 or self.away(t_ms):
            return []
        day, minute = local_day(t_ms, cfg), local_minute(t_ms, cfg)
        if not cfg.day_start_min <= minute < cfg.sleep_min:
            return []
        if self._up_day != day:
            return self._morning(t_ms, day, minute)
        return self._quiet(t_ms)

    def _morning(self, t_ms: int, day: int, minute: int) -> list[HomeEvent]:
        cfg = self.config
        if self._morning_alarmed_day == day:
            return []
        up_by, learned = self.usually_up_by()
        grace = cfg.morning_grace_min if learned else cfg.unlearned_grace_min
        if minute < up_by + grace:
            return []
        self._morning_alarmed_day = day
        since = self._last_activity
        since_en = (
            f"no movement since {local_clock(since, cfg)}" if since is not None else "no movement today"
        )
        since_zh = f"自{local_clock(since, cfg)}起无活动" if since is not None else "今日无活动"
        basis_en = "usually up by" if learned else "care plan: up by"
        basis_zh = "平时" if learned else "护理计划："
        return [
            HomeEvent(
                kind=EventKind.INACTIVITY,
                source_id=self.hub_id,
                t_ms=t_ms,
                onset_ms=since if since is not None else t_ms,
                reason="not_up_by_usual_time",
                measures=(
                    ("usually_up_by_min", float(up_by)),
                    ("grace_min", float(grace)),
                    ("learned_days", float(len(self._up_minutes))),
                ),
                text_en=f"{since_en}; {basis_en} {clock(up_by)}",
                text_zh=f"{since_zh}；{basis_zh}{clock(up_by)}前起床",
            )
        ]

    def _quiet(self, t_ms: int) -> list[HomeEvent]:
        last = self._last_activity
        if last is None or self._quiet_alarmed:
            return []
        quiet_s = (t_ms - last) / 1000
        threshold = self.quiet_threshold_s()
        if quiet_s < threshold:
            return []
        self._quiet_alarmed = True
        quiet_en, quiet_zh = span_text(quiet_s)
        usual_en, usual_zh = span_text(threshold)
        at = local_clock(last, self.config)
        return [
            HomeEvent(
                kind=EventKind.INACTIVITY,
                source_id=self.hub_id,
                t_ms=t_ms,
                onset_ms=last,
                reason="no_movement_beyond_usual",
                measures=(("quiet_s", round(quiet_s)), ("threshold_s", round(threshold))),
                text_en=f"no movement since {at} ({quiet_en}); usually moving again within {usual_en}",
                text_zh=f"自{at}起无活动（{quiet_zh}）；平时{usual_zh}内会有活动",
            )
        ]
