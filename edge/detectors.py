"""Detector adapters plugged into the :class:`~edge.pipeline.Pipeline` port.

* :class:`DeviceFacts`: what the device itself reports (battery flag, strap removed), raised once per
  transition, plus online/offline from presence.
* :class:`FallAdapter`: the acceleration fall detector of :mod:`edge.detection`, one instance per device.

``default_detectors()`` returns whichever are available, so the gateway also runs without
:mod:`edge.detection`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from contracts import AccelBatch, EventKind, Presence, Status, UplinkMessage, WearState
from edge.pipeline import Detector, Finding

log = logging.getLogger(__name__)


class DeviceFacts:
    name = "device_facts"

    def __init__(self) -> None:
        self._low_battery: dict[str, bool] = {}
        self._removed: dict[str, bool] = {}
        self.online: dict[str, bool] = {}
        self.last_seen_ms: dict[str, int] = {}

    def feed(self, message: UplinkMessage) -> Sequence[Finding]:
        device = message.device_id
        if isinstance(message, Status):
            low = message.low_battery and not message.charging
            was = self._low_battery.get(device, False)
            self._low_battery[device] = low
            if low and not was:
                return [
                    Finding(
                        EventKind.LOW_BATTERY, message.ts, "device_flag", {"battery_pct": message.battery_pct}
                    )
                ]
        elif isinstance(message, WearState):
            removed = message.state == "removed"
            was = self._removed.get(device, False)
            self._removed[device] = removed
            if removed and not was:
                return [Finding(EventKind.STRAP_REMOVED, message.ts, "device_reported")]
        return ()

    def presence(self, message: Presence, received_ms: int) -> Sequence[Finding]:
        self.online[message.device_id] = message.online
        self.last_seen_ms[message.device_id] = received_ms
        return ()

    def online_count(self) -> int:
        return sum(self.online.values())


class FallAdapter:
    """Feeds accel batches to one :class:`edge.detection.FallDetector` per device."""

    name = "fall"

    def __init__(self, factory: Callable[[str], Any]) -> None:
        self._factory = factory
        self._per_device: dict[str, Any] = {}

    def feed(self, message: UplinkMessage) -> Sequence[Finding]:
        if not isinstance(message, AccelBatch):
            return ()
        import numpy as np

        from edge.detection import OutOfOrderError

        detector = self._per_device.get(message.device_id)
        if detector is None:
            detector = self._per_device[message.device_id] = self._factory(message.device_id)
        try:
            falls = detector.update(
                np.asarray(message.samples, dtype=np.float64), message.ts, float(message.rate_hz)
            )
        except OutOfOrderError:
            return ()  # an accel batch reordered in flight: too late for this stream, drop it
        findings: list[Finding] = []
        for fall in falls:
            evidence: dict[str, Any] = {
                "probability": round(float(fall.probability), 4),
                "peak_g": round(float(fall.peak_g), 3),
                "orientation_change_deg": round(float(fall.orientation_change_deg), 1),
                "onset_ms": int(fall.onset_ms),
                "placement": message.placement,
            }
            window = fall.evidence.accel
            if window is not None:
                evidence["accel"] = {
                    "t0_ms": window.t0_ms,
                    "rate_hz": window.rate_hz,
                    "samples": [list(s) for s in window.samples],
                }
            findings.append(Finding(EventKind.FALL, int(fall.t_ms), fall.reason, evidence))
        return findings

    def presence(self, message: Presence, received_ms: int) -> Sequence[Finding]:
        return ()


def default_detectors() -> list[Detector]:
    detectors: list[Detector] = [DeviceFacts()]
    try:
        from edge.detection import FallDetector, load_default_model
    except ImportError:
        log.warning("detection.unavailable gateway runs alarms and device facts only")
        return detectors
    model = load_default_model()
    detectors.append(FallAdapter(lambda device_id: FallDetector(device_id, model)))
    return detectors
