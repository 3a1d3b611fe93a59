"""Parsing of scenario times ("10:32", "+15m", ISO datetimes) and durations ("1h30m", "90s", 45)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from firmware_sim.groundtruth import CST

_DURATION_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")
_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


class TimeFormatError(ValueError):
    """A time or duration in a scenario could not be read."""


def parse_duration_s(value: str | float | int) -> float:
    """Seconds in ``"1h30m"``, ``"90s"``, ``"2.5m"`` or a plain number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise TimeFormatError("durations must be >= 0")
        return float(value)
    text = str(value).strip().lower().replace(" ", "")
    match = _DURATION_RE.match(text)
    if not text or not match or not any(match.groups()):
        raise TimeFormatError(f"bad duration {value!r} (use e.g. 90s, 15m, 1h30m)")
    h, m, s = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + s


def parse_start(value: str | datetime) -> datetime:
    """An aware datetime; naive values are read as China Standard Time."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise TimeFormatError(
                f"bad start {value!r} (use ISO 8601, e.g. 2026-03-02T10:00:00+08:00)"
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CST)


def parse_at_ms(value: str | int | float, start: datetime) -> int:
    """Epoch ms of ``value``: ``"10:32"`` (that clock time on the start day, CST), ``"+15m"`` (after the
    start), a number (seconds after the start) or an ISO datetime."""
    start_ms = int(start.timestamp() * 1000)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return start_ms + int(float(value) * 1000)
    text = str(value).strip()
    if text.startswith("+"):
        return start_ms + int(parse_duration_s(text[1:]) * 1000)
    clock = _CLOCK_RE.match(text)
    if clock:
        local = start.astimezone(CST)
        hh, mm, ss = int(clock.group(1)), int(clock.group(2)), int(clock.group(3) or 0)
        if hh > 23 or mm > 59 or ss > 59:
            raise TimeFormatError(f"bad clock time {value!r}")
        moment = local.replace(hour=hh, minute=mm, second=ss, microsecond=0)
        if moment < local:
            moment += timedelta(days=1)  # a clock time earlier than the start means the next day
        return int(moment.timestamp() * 1000)
    return int(parse_start(text).timestamp() * 1000)
