"""The event a home monitor raises: a detection event that names the sensor and room and explains itself."""

from __future__ import annotations

from dataclasses import dataclass

from edge.detection.events import DetectionEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class HomeEvent(DetectionEvent):
    """``source_id`` is the hub. ``text_en`` / ``text_zh`` explain the decision to an operator
    ("no movement since 07:40; usually up by 07:15"); no personal data, only times and rooms."""

    sensor_id: str | None = None
    sensor_kind: str | None = None
    room: str | None = None
    text_en: str = ""
    text_zh: str = ""
