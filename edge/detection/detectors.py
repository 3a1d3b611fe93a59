"""Which detectors the gateway runs: :func:`default_detectors`.

* :class:`DeviceFacts` always runs: online/offline from presence (for the metrics), and — only when
  :mod:`edge.detection` is not installed — what the device itself reports (low-battery flag, strap
  removed), raised once per transition.
* :class:`~edge.detection.adapter.DetectionAdapter`: every detector of
  :data:`~edge.detection.lineup.DETECTORS`, each isolated from the others' failures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from contracts import DeviceKind, EventKind, Presence, Status, UplinkMessage, WearState
from contracts.care_plan import CarePlan
from edge.detection.fleet_clock import FleetClock
from edge.pipeline import Detector, Finding

log = logging.getLogger(__name__)


class DeviceFacts:
    name = "device_facts"

    def __init__(self, *, raise_events: bool = True) -> None:
        self.raise_events = raise_events
        self._low_battery: dict[str, bool] = {}
        self._removed: dict[str, bool] = {}
        self.online: dict[str, bool] = {}

    def observe(self, message: UplinkMessage | Presence, received_ms: int) -> Sequence[Finding]:
        device = message.device_id
        if isinstance(message, Presence):
            self.online[device] = message.online
            return ()
        self.online[device] = True
        if not self.raise_events:
            return ()
        if isinstance(message, Status):
            low = message.low_battery and not message.charging
            was = self._low_battery.get(device, False)
            self._low_battery[device] = low
            if low and not was:
                evidence = {"battery_pct": message.battery_pct}
                return [Finding(EventKind.LOW_BATTERY, message.ts, "device_flag", evidence)]
        elif isinstance(message, WearState):
            removed = message.state == "removed"
            was = self._removed.get(device, False)
            self._removed[device] = removed
            if removed and not was:
                return [Finding(EventKind.STRAP_REMOVED, message.ts, "device_reported")]
        return ()

    def tick(self, now_ms: int) -> Sequence[tuple[str, Finding]]:
        return ()

    def online_count(self) -> int:
        return sum(self.online.values())


def default_detectors(
    kind_of: Callable[[str], DeviceKind | None],
    *,
    plan_of: Callable[[str], CarePlan | None] | None = None,
    clock: FleetClock | None = None,
    on_failure: Callable[[str], None] | None = None,
) -> list[Detector]:
    """``on_failure(detector_name)`` is called for every detector call that raised (a metric hook)."""
    try:
        from edge.detection.adapter import DetectionAdapter
    except ImportError as exc:
        log.warning("detection.unavailable error=%s running alarms and device facts only", exc)
        return [DeviceFacts()]
    return [
        DeviceFacts(raise_events=False),
        DetectionAdapter(kind_of, plan_of=plan_of, clock=clock, on_failure=on_failure),
    ]
