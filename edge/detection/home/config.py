"""What a home monitor is built with: the pack's sensors (kind, room) and the per-home settings."""

from __future__ import annotations

from dataclasses import dataclass

MINUTE_MS = 60_000
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorInfo:
    """One sensor of the pack as registered: ``kind`` is a :class:`contracts.DeviceKind` value."""

    sensor_id: str
    kind: str
    room: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HomeConfig:
    """Per-home settings; times are minutes after local midnight (local = UTC + ``utc_offset_min``).

    Routine (inactivity): the person counts as *up* at the first motion outside the bedroom after
    ``day_start_min``. "Usually up by" is the ``up_quantile`` of the last ``history_days`` up times, once
    ``min_days`` have been seen (before that ``wake_min`` from the care plan); ``usually_up_by_min`` (care
    plan) overrides the learned time. The morning alarm comes ``morning_grace_min`` after that
    (``unlearned_grace_min`` while still learning). In the day, a quiet spell longer than ``quiet_factor`` ×
    the ``quiet_quantile`` of past quiet spells (clamped to [``quiet_min_s``, ``quiet_max_s``]) is inactivity.
    A door event followed by ``away_after_s`` without motion means the person went out: no inactivity
    while away. Nothing is judged while the hub has sent no motion report for ``hub_quiet_s``.

    Night (``night_start_min`` .. ``night_end_min``, across midnight): a door open longer than
    ``door_open_night_s`` → ``door_open_night``; the door used and no motion inside for
    ``wandering_after_s`` → ``night_wandering``.

    Hazards: a sensor whose alarm starts again within ``repeat_window_s`` of its previous start is muted as
    faulty unless corroborated within ``corroboration_s`` (another hazard sensor, the pull-cord, or a
    burst of motion above ``burst_factor`` × the home's usual busiest interval).
    """

    utc_offset_min: int = 480
    wake_min: int = 7 * 60
    sleep_min: int = 22 * 60
    usually_up_by_min: int | None = None
    day_start_min: int = 4 * 60
    morning_grace_min: int = 20
    unlearned_grace_min: int = 90
    min_days: int = 5
    history_days: int = 28
    up_quantile: float = 0.9
    quiet_default_s: float = 3 * 3600.0
    quiet_min_s: float = 2 * 3600.0
    quiet_max_s: float = 5 * 3600.0
    quiet_factor: float = 1.5
    quiet_quantile: float = 0.95
    min_quiet_history: int = 20
    min_gap_to_learn_s: float = 600.0
    away_after_s: float = 600.0
    hub_quiet_s: float = 1_200.0
    night_start_min: int = 23 * 60
    night_end_min: int = 5 * 60 + 30
    door_open_night_s: float = 600.0
    wandering_after_s: float = 900.0
    repeat_window_s: float = 3_600.0
    corroboration_s: float = 600.0
    burst_factor: float = 2.0
    burst_min_count: int = 25


def local_minute(t_ms: int, cfg: HomeConfig) -> int:
    """Minute of the local day (0..1439)."""
    return int(((t_ms + cfg.utc_offset_min * MINUTE_MS) % DAY_MS) // MINUTE_MS)


def local_day(t_ms: int, cfg: HomeConfig) -> int:
    """Days since the epoch in local time."""
    return int((t_ms + cfg.utc_offset_min * MINUTE_MS) // DAY_MS)


def clock(minute: float) -> str:
    """``455`` -> ``"07:35"``."""
    m = round(minute) % 1440
    return f"{m // 60:02d}:{m % 60:02d}"


def local_clock(t_ms: int, cfg: HomeConfig) -> str:
    return clock(local_minute(t_ms, cfg))


def in_window(minute: int, start: int, end: int) -> bool:
    """``minute`` inside [start, end), the window may cross midnight."""
    return start <= minute < end if start <= end else minute >= start or minute < end


def span_text(seconds: float) -> tuple[str, str]:
    """A duration in English and Chinese: ``(\"3 h 10 min\", \"3小时10分钟\")``."""
    minutes = int(seconds // 60)
    h, m = divmod(minutes, 60)
    if h:
        return f"{h} h {m:02d} min", f"{h}小时{m}分钟"
    return f"{m} min", f"{m}分钟"
