"""Plugs the pure detectors of :mod:`edge.detection` into the gateway's :class:`~edge.pipeline.Detector`
port, with per-device state, and runs their events through the detection :class:`IncidentBuilder`
(an event that joins an open incident of the same device and kind within its cooldown is not sent
again; the cloud fuses the rest).

Which detector sees what:

* accel batches → :class:`FallDetector` (wearables; numpy work inline, ~0.1 ms per 1 s batch);
  moving batches also count as activity for inactivity;
* vitals → :class:`VitalsDetector` (limits from the person's care plan);
* location → :class:`GeofenceMonitor` for child monitors (the care plan's fences and vehicle speed);
* every uplink → :class:`DeviceHealthMonitor` heartbeat (status carries battery, wear carries worn);
  presence online → ``reconnect``;
* the gateway's periodic tick → health (silence) and inactivity (the care plan's waking hours), on the
  :class:`~edge.detection.fleet_clock.FleetClock`.

The device kind and care plan come from the registry snapshot; a device of unknown kind gets fall and
vitals detection only (health thresholds depend on the kind). When a refreshed snapshot carries a
changed plan, the detectors it configures are rebuilt at the device's next message (their learned state
starts over; inactivity keeps the last sign of life).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from contracts import AccelBatch, DeviceKind, EventKind, Location, Presence, Status, UplinkMessage, Vitals
from contracts import WearState as Wear
from contracts.care_plan import CarePlan
from edge import detection as det
from edge.detection.config import DEFAULT_CONFIG, DetectorConfig, detector_config
from edge.detection.fleet_clock import FleetClock
from edge.pipeline import Finding

MOVING_STD_G = 0.05  # accel batch counts as activity when |a| varies more than this
# Ticks run on the device's clock: its last timestamp plus the fleet time elapsed since that message,
# minus a margin so that a message delayed in transit is not older than the tick (detectors refuse to
# go back in time).
TICK_MARGIN_MS = 60_000


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
    __slots__ = (
        "config",
        "device_id",
        "fall",
        "geofence",
        "health",
        "inactivity",
        "kind",
        "last_activity_ms",
        "last_fleet_ms",
        "last_ts",
        "plan",
        "vitals",
    )

    def __init__(
        self, device_id: str, kind: DeviceKind | None, model: det.FallModel, plan: CarePlan | None
    ) -> None:
        self.device_id = device_id
        self.kind = kind
        self.plan = plan
        self.config = config = detector_config(plan)
        self.last_ts = 0
        self.last_fleet_ms = 0  # the fleet clock when the message with ``last_ts`` arrived
        self.last_activity_ms: int | None = None
        self.fall = det.FallDetector(device_id, model)
        self.vitals = det.VitalsDetector(device_id, config.vitals)
        self.health = det.DeviceHealthMonitor(device_id, det.DeviceKind(kind.value)) if kind else None
        wearable = kind is DeviceKind.WEARABLE
        self.inactivity = det.InactivityDetector(device_id, config.inactivity) if wearable else None
        child = kind is DeviceKind.CHILD_MONITOR
        self.geofence = det.GeofenceMonitor(device_id, config.fences, config.child) if child else None

    def reconfigure(self, plan: CarePlan | None) -> bool:
        """Apply a changed care plan; True if any detector was rebuilt."""
        self.plan = plan
        new, old = detector_config(plan), self.config
        if new == old:
            return False
        self.config = new
        if new.vitals != old.vitals:
            self.vitals = det.VitalsDetector(self.device_id, new.vitals)
        if self.inactivity is not None and new.inactivity != old.inactivity:
            self.inactivity = det.InactivityDetector(self.device_id, new.inactivity)
            if self.last_activity_ms is not None:
                self.inactivity.activity(self.last_activity_ms)
        if self.geofence is not None and (new.fences != old.fences or new.child != old.child):
            self.geofence = det.GeofenceMonitor(self.device_id, new.fences, new.child)
        return True

    def activity(self, t_ms: int) -> list[det.DetectionEvent]:
        assert self.inactivity is not None
        events = self.inactivity.activity(t_ms)
        self.last_activity_ms = t_ms
        return events


class DetectionAdapter:
    name = "detection"

    def __init__(
        self,
        kind_of: Callable[[str], DeviceKind | None],
        *,
        plan_of: Callable[[str], CarePlan | None] | None = None,
        clock: FleetClock | None = None,
    ) -> None:
        self._kind_of = kind_of
        self._plan_of = plan_of or (lambda _device_id: None)
        self.clock = clock if clock is not None else FleetClock()
        self.reconfigured = 0  # devices whose detectors were rebuilt for a changed care plan
        self._model = det.load_default_model()
        self._devices: dict[str, _Device] = {}
        self.incidents = det.IncidentBuilder()
        self.joined = 0  # events that joined an open incident (not sent again)
        self.out_of_order = 0

    def _device(self, device_id: str) -> _Device:
        state = self._devices.get(device_id)
        kind = self._kind_of(device_id)
        plan = self._plan_of(device_id)
        if state is None or (state.kind is None and kind is not None):
            state = self._devices[device_id] = _Device(device_id, kind, self._model, plan)
        elif plan is not state.plan and state.reconfigure(plan):  # a refreshed snapshot: new objects
            self.reconfigured += 1
        return state

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

    def _safely(
        self, call: Callable[..., Sequence[det.DetectionEvent]], *args: Any, **kwargs: Any
    ) -> Sequence[det.DetectionEvent]:
        try:
            return call(*args, **kwargs)
        except det.OutOfOrderError:  # reordered in flight: too late for this stream, drop it
            self.out_of_order += 1
            return []

    def feed(self, message: UplinkMessage, received_ms: int) -> Sequence[Finding]:
        d = self._device(message.device_id)
        t = message.ts
        self._seen(d, message.device_id, t, received_ms)
        events: list[det.DetectionEvent] = []
        if isinstance(message, AccelBatch):
            samples = np.asarray(message.samples, dtype=np.float64)
            events += self._safely(d.fall.update, samples, t, float(message.rate_hz))
            if d.inactivity is not None and float(np.std(np.linalg.norm(samples, axis=1))) > MOVING_STD_G:
                events += self._safely(d.activity, t)
        elif isinstance(message, Vitals):
            events += self._safely(
                d.vitals.update, t, message.hr_bpm, message.spo2_pct, motion=message.motion
            )
            if message.motion and d.inactivity is not None:
                events += self._safely(d.activity, t)
        elif isinstance(message, Location) and d.geofence is not None:
            fix = det.GpsFix(
                t_ms=t,
                lat=message.lat,
                lon=message.lon,
                accuracy_m=message.accuracy_m,
                speed_mps=message.speed_mps,
            )
            events += self._safely(d.geofence.update, fix)
        if d.health is not None:
            battery = message.battery_pct if isinstance(message, Status) else None
            worn = (message.state == "worn") if isinstance(message, Wear) else None
            events += self._safely(d.health.heartbeat, t, battery_pct=battery, worn=worn)
        if isinstance(message, Status) and d.inactivity is not None:
            events += self._safely(d.inactivity.tick, t)
        return self._decide(events)

    def presence(self, message: Presence, received_ms: int) -> Sequence[Finding]:
        d = self._device(message.device_id)
        if not message.online or d.health is None:
            return ()
        t = message.ts or received_ms
        self._seen(d, message.device_id, t, received_ms)
        return self._decide(self._safely(d.health.reconnect, t))

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
            if d.health is not None:
                events += self._safely(d.health.tick, t)
            if d.inactivity is not None:
                events += self._safely(d.inactivity.tick, t)
            found += [(device_id, f) for f in self._decide(events)]
        return found
