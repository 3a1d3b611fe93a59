"""The detectors the gateway runs, in the order each message reaches them: the one list to add to."""

from __future__ import annotations

from edge.detection import child_monitor, device_health, fall, inactivity, vitals
from edge.detection.stream import DetectorSpec

DETECTORS: tuple[DetectorSpec, ...] = (
    fall.SPEC,
    vitals.SPEC,
    child_monitor.SPEC,
    inactivity.SPEC,
    device_health.SPEC,
)
