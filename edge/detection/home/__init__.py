"""Detectors for the smart service pack (智慧助老服务包): one :class:`HomeMonitor` per home hub.

Pure like the rest of :mod:`edge.detection`: sensor messages in, :class:`HomeEvent` out, time from the
messages. See docs/detection.md ("Smart service pack").
"""

from edge.detection.home.config import HomeConfig, SensorInfo
from edge.detection.home.events import HomeEvent
from edge.detection.home.hazards import HazardWatch
from edge.detection.home.monitor import HomeMonitor
from edge.detection.home.night_door import NightDoorWatch
from edge.detection.home.routine import RoutineWatch

__all__ = [
    "HazardWatch",
    "HomeConfig",
    "HomeEvent",
    "HomeMonitor",
    "NightDoorWatch",
    "RoutineWatch",
    "SensorInfo",
]
