"""The one interface every detector the gateway runs has (river style: observe one, tick the clock).

A :class:`DeviceDetector` serves one device: :meth:`~DeviceDetector.observe` takes each message the
device sends (uplinks and presence, with the device time ``t_ms`` the adapter settled on) and
:meth:`~DeviceDetector.tick` moves its clock on when nothing arrives; both return the events it decided
on. Each detector picks the messages it cares about and ignores the rest, so one message reaches every
detector and the adapter knows none of them.

A detector module ends with its :class:`DetectorSpec`; :data:`edge.detection.lineup.DETECTORS` lists
them. Adding a detector touches its own module and that list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from contracts import DeviceKind, Presence, UplinkMessage
from edge.detection.events import DetectionEvent

if TYPE_CHECKING:
    from edge.detection.config import DetectorConfig
    from edge.detection.fall_model import FallModel

Observed = UplinkMessage | Presence


class DeviceDetector(Protocol):
    """One detector for one device (state inside). May raise ``OutOfOrderError`` for a message older
    than its clock; any other exception is a bug the adapter isolates, counts and logs."""

    def observe(self, message: Observed, t_ms: int) -> Sequence[DetectionEvent]: ...

    def tick(self, t_ms: int) -> Sequence[DetectionEvent]: ...

    def reconfigure(self, config: DetectorConfig) -> bool:
        """Apply a changed care plan; True if the detector started over."""
        ...


@dataclass(frozen=True, slots=True)
class Setup:
    """What a detector is built from: the device, its kind (None: unknown yet), its care plan's settings
    and the shipped fall model (loaded once per gateway)."""

    device_id: str
    kind: DeviceKind | None
    config: DetectorConfig
    model: FallModel


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """A registered detector: its name (metrics, logs) and how to build it for one device (None: this
    device does not get it, e.g. inactivity only for wearables)."""

    name: str
    build: Callable[[Setup], DeviceDetector | None]
