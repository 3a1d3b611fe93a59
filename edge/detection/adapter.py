"""Plugs the detectors of :data:`~edge.detection.lineup.DETECTORS` into the gateway's
:class:`~edge.pipeline.Detector` port, with per-device state, and runs their events through the detection
:class:`IncidentBuilder` (an event that joins an open incident of the same device and kind within its
cooldown is not sent again; the cloud fuses the rest).

Every message of a device reaches each of its detectors (:class:`~edge.detection.stream.DeviceDetector`:
``observe`` / ``tick``); each picks what it cares about. Each call is isolated: a detector that raises is
counted (``on_failure`` → the ``detector_errors`` metric), logged as ``detector.failed`` with its name and
the device, and the other detectors' findings for that message are kept. ``OutOfOrderError`` (a message
reordered in flight, too late for that stream) is counted in ``out_of_order`` and dropped.

The gateway's periodic tick runs on the :class:`~edge.detection.fleet_clock.FleetClock`: each device ticks
at its last timestamp plus the fleet time elapsed since.

The device kind and care plan come from the registry snapshot; a device of unknown kind gets the
detectors that need no kind (fall, vitals). When a refreshed snapshot carries a changed plan, each
detector applies it at the device's next message (those it configures start over; inactivity keeps the
last sign of life).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from contracts import DeviceKind, EventKind, Presence, UplinkMessage
from contracts.care_plan import CarePlan
from edge import detection as det
from edge.detection.config import DEFAULT_CONFIG, DetectorConfig, detector_config
from edge.detection.fleet_clock import FleetClock
from edge.detection.lineup import DETECTORS
from edge.detection.stream import DetectorSpec, DeviceDetector, Observed, Setup
from edge.pipeline import Finding

log = logging.getLogger(__name__)

# Ticks run on the device's clock: its last timestamp plus the fleet time elapsed since that message,
# minus a margin so that a message delayed in transit is not older than the tick (detectors refuse to
# go back in time).
TICK_MARGIN_MS = 60_000
T = TypeVar("T")


def _finding(event: det.DetectionEvent) -> Finding:
    evidence: dict[str, Any] = {"reason": event.reason, "onset_ms": event.onset_ms}
    evidence.update({name: value for name, value in event.measures if value is not None})
    if isinstance(event, det.FallEvent):
        evidence.update(
            probability=round(event.probability, 4),
            peak_g=round(event.peak_g, 3),
            orientation_change_deg=round(event.orientation_change_deg, 1),
        )
    ev = event.evidence
    if ev.accel is not None:
        evidence["accel"] = {
            "t0_ms": ev.accel.t0_ms,
            "rate_hz": ev.accel.rate_hz,
            "samples": [list(s) for s in ev.accel.samples],
        }
    if ev.vitals:
        evidence["vitals"] = [[p.t_ms, p.hr_bpm, p.spo2_pct] for p in ev.vitals]
    if ev.trail:
        evidence["trail"] = [[p.t_ms, p.lat, p.lon, p.accuracy_m] for p in ev.trail]
    return Finding(EventKind(event.kind.value), event.t_ms, event.reason[:200], evidence)


class _Device:
    __slots__ = ("config", "detectors", "device_id", "kind", "last_fleet_ms", "last_ts", "plan")

    def __init__(
        self,
        device_id: str,
        kind: DeviceKind | None,
        model: det.FallModel,
        plan: CarePlan | None,
        specs: Sequence[DetectorSpec],
    ) -> None:
        self.device_id = device_id
        self.kind = kind
        self.plan = plan
        self.config = detector_config(plan)
        self.last_ts = 0
        self.last_fleet_ms = 0  # the fleet clock when the message with ``last_ts`` arrived
        setup = Setup(device_id, kind, self.config, model)
        built = ((spec.name, spec.build(setup)) for spec in specs)
        self.detectors: list[tuple[str, DeviceDetector]] = [(n, d) for n, d in built if d is not None]


class DetectionAdapter:
    name = "detection"

    def __init__(
        self,
        kind_of: Callable[[str], DeviceKind | None],
        *,
        plan_of: Callable[[str], CarePlan | None] | None = None,
        clock: FleetClock | None = None,
        detectors: Sequence[DetectorSpec] = DETECTORS,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._kind_of = kind_of
        self._plan_of = plan_of or (lambda _device_id: None)
        self.clock = clock if clock is not None else FleetClock()
        self.specs = tuple(detectors)
        self._on_failure = on_failure
        self.reconfigured = 0  # devices whose detectors were given a changed care plan
        self._model = det.load_default_model()
        self._devices: dict[str, _Device] = {}
        self.incidents = det.IncidentBuilder()
        self.joined = 0  # events that joined an open incident (not sent again)
        self.out_of_order = 0
        self.failures: dict[str, int] = {}  # detector name -> calls that raised

    def _device(self, device_id: str) -> _Device:
        state = self._devices.get(device_id)
        kind = self._kind_of(device_id)
        plan = self._plan_of(device_id)
        if state is None or (state.kind is None and kind is not None):
            state = self._devices[device_id] = _Device(device_id, kind, self._model, plan, self.specs)
        elif plan is not state.plan:  # a refreshed snapshot: new objects
            self._reconfigure(state, plan)
        return state

    def _reconfigure(self, d: _Device, plan: CarePlan | None) -> None:
        d.plan = plan
        config = detector_config(plan)
        if config == d.config:
            return
        d.config = config
        self.reconfigured += 1
        for name, detector in d.detectors:
            self._safely(name, d.device_id, detector.reconfigure, config)

    def config_of(self, device_id: str) -> DetectorConfig:
        """The detector settings in force for ``device_id`` (the defaults before its first message)."""
        state = self._devices.get(device_id)
        return DEFAULT_CONFIG if state is None else state.config

    def _seen(self, d: _Device, device_id: str, t_ms: int, received_ms: int) -> None:
        self.clock.observe(device_id, t_ms, received_ms)
        if t_ms >= d.last_ts:
            d.last_ts, d.last_fleet_ms = t_ms, self.clock.now(received_ms)

    def _decide(self, events: Sequence[det.DetectionEvent]) -> list[Finding]:
        findings: list[Finding] = []
        for event in events:
            try:
                updates = self.incidents.add(event)
            except det.OutOfOrderError:
                self.out_of_order += 1
                continue
            if updates and updates[0].action is det.IncidentAction.OPENED:
                findings.append(_finding(event))
            else:
                self.joined += 1
        return findings

    def _safely(self, name: str, device_id: str, call: Callable[..., T], *args: Any) -> T | None:
        """One detector's call, isolated: its bug costs its own findings, never the others'."""
        try:
            return call(*args)
        except det.OutOfOrderError:  # reordered in flight: too late for this stream, drop it
            self.out_of_order += 1
        except Exception:
            self.failures[name] = self.failures.get(name, 0) + 1
            if self._on_failure is not None:
                self._on_failure(name)
            log.exception("detector.failed detector=%s device=%s", name, device_id)
        return None

    def _observe(self, d: _Device, message: Observed, t_ms: int) -> list[Finding]:
        events: list[det.DetectionEvent] = []
        for name, detector in d.detectors:
            events += self._safely(name, d.device_id, detector.observe, message, t_ms) or ()
        return self._decide(events)

    def observe(self, message: UplinkMessage | Presence, received_ms: int) -> Sequence[Finding]:
        d = self._device(message.device_id)
        if isinstance(message, Presence):
            if not message.online:
                return ()
            t = message.ts or received_ms
        else:
            t = message.ts
        self._seen(d, message.device_id, t, received_ms)
        return self._observe(d, message, t)

    def tick(self, now_ms: int) -> Sequence[tuple[str, Finding]]:
        """``now_ms`` is the gateway's wall clock; each device ticks at its own last timestamp plus the
        fleet time elapsed since (so a simulation at 60× shows a silent device 60× sooner)."""
        fleet_now = self.clock.now(now_ms)
        found: list[tuple[str, Finding]] = []
        for device_id, d in self._devices.items():
            t = d.last_ts + (fleet_now - d.last_fleet_ms) - TICK_MARGIN_MS
            if not d.last_ts or t <= d.last_ts:
                continue
            events: list[det.DetectionEvent] = []
            for name, detector in d.detectors:
                events += self._safely(name, device_id, detector.tick, t) or ()
            found += [(device_id, f) for f in self._decide(events)]
        return found
