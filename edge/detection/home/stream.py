"""The gateway's home detector: one :class:`HomeMonitor` per home hub, behind the detector interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from contracts import DeviceKind
from edge.detection.events import DetectionEvent
from edge.detection.home.messages import observe
from edge.detection.home.monitor import HomeMonitor
from edge.detection.stream import DetectorSpec, Observed, Setup

if TYPE_CHECKING:
    from edge.detection.config import DetectorConfig


class HomeStream:
    """Hazards, the home's routine and the front door at night, for one hub and its registered sensors.
    Presence and the hub's own status only move the clock."""

    def __init__(self, setup: Setup) -> None:
        self.monitor = HomeMonitor(setup.device_id, setup.sensors, setup.config.home)

    def observe(self, message: Observed, t_ms: int) -> Sequence[DetectionEvent]:
        if message.type == "presence":
            return self.monitor.tick(t_ms)
        return observe(self.monitor, message, t_ms)

    def tick(self, t_ms: int) -> Sequence[DetectionEvent]:
        return self.monitor.tick(t_ms)

    def reconfigure(self, config: DetectorConfig) -> bool:
        """A changed care plan applies at once; what the home's routine taught is kept."""
        return self.monitor.reconfigure(config.home)


def _home(setup: Setup) -> HomeStream | None:
    return HomeStream(setup) if setup.kind is DeviceKind.HOME_HUB else None


SPEC = DetectorSpec("home", _home)
