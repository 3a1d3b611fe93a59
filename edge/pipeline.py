"""Route validated uplinks to events (pure): alarms straight through, telemetry through detectors.

``SosPress`` → ``sos``, ``SosCancel`` → ``sos_cancel`` (``ref_key`` names the cancelled alarm),
``FallSuspected`` → ``fall_device``, a home hub's ``PullCordAlarm`` → ``pull_cord``; these are keyed by
the message (``device_id:seq``, or ``device_id:b<boot>.seq`` after a counter restart, see
:mod:`contracts.identity`) and the device gets an :class:`~contracts.AlarmReceived` once the event is
on disk. A home hazard (smoke, gas, water: an alarm channel) goes through the detectors and is
acknowledged the same way once their events are on disk. Every other message goes to the
:class:`Detector` ports; a finding becomes an event keyed ``<message key>.kind`` (the message that
completed the decision, plus the kind, so one message may raise several kinds and a replay raises none).
Events carry the digest of the message bytes, so the outbox tells a copy from a different message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from contracts import (
    AlarmReceived,
    AnyUplink,
    EdgeEvent,
    EventKind,
    FallSuspected,
    Fix,
    Presence,
    SosCancel,
    SosPress,
    UplinkMessage,
    event_key,
)
from contracts.home import Hazard, HazardAlarm, PullCordAlarm
from contracts.identity import finding_key, tick_key
from contracts.intake import DEFAULT_SEVERITY
from contracts.topics import is_alarm_channel
from contracts.uplink import CHANNEL_OF

log = logging.getLogger(__name__)
HAZARD_EVENT = {Hazard.SMOKE: EventKind.SMOKE, Hazard.GAS: EventKind.GAS, Hazard.WATER: EventKind.WATER_LEAK}


@dataclass(frozen=True, slots=True)
class Finding:
    """What a detector decided about one device, in wire terms."""

    kind: EventKind
    t_ms: int  # device clock of the decision
    detail: str | None = None
    evidence: dict[str, Any] | None = None
    fix: Fix | None = None


class Detector(Protocol):
    """A port for the streaming detectors: one instance serves every device (per-device state inside).
    ``observe`` sees every telemetry uplink and presence change; ``tick`` moves time on."""

    name: str

    def observe(self, message: UplinkMessage | Presence, received_ms: int) -> Sequence[Finding]: ...

    def tick(self, now_ms: int) -> Sequence[tuple[str, Finding]]:
        """Time-driven findings (silence, inactivity) as (device id, finding)."""
        ...


@dataclass(slots=True)
class _Cause:
    """What the events of one uplink carry about it. ``digest`` may come as a function that works it out
    (hashing every telemetry message for the rare one that raises an event is waste); called once."""

    digest: str | Callable[[], str] | None = None
    unassigned: bool = False

    def digest_value(self) -> str | None:
        if callable(self.digest):
            self.digest = self.digest()
        return self.digest


@dataclass(frozen=True, slots=True)
class Outcome:
    events: list[EdgeEvent] = field(default_factory=list)
    ack: AlarmReceived | None = None  # to publish once ``events`` are on disk


class DetectorFailed(Exception):
    def __init__(self, detector: str) -> None:
        super().__init__(f"detector {detector} raised")
        self.detector = detector


class Pipeline:
    def __init__(
        self,
        edge_id: str,
        detectors: Sequence[Detector] = (),
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.edge_id = edge_id
        self._on_failure = on_failure
        self.detectors = list(detectors)
        self.failures: dict[str, int] = {}
        self._last: dict[str, tuple[int, int]] = {}  # (boot, seq): keys events no uplink caused

    def _event(
        self, message: UplinkMessage, kind: EventKind, received_ms: int, cause: _Cause, **extra: Any
    ) -> EdgeEvent:
        return EdgeEvent(
            key=extra.pop("key", None) or event_key(message.device_id, message.seq, message.boot),
            edge_id=self.edge_id,
            device_id=message.device_id,
            boot=message.boot,
            seq=message.seq,
            kind=kind,
            severity=DEFAULT_SEVERITY[kind],
            device_ts=extra.pop("device_ts", None) or message.ts,
            edge_ts=received_ms,
            digest=cause.digest_value(),
            unassigned=cause.unassigned,
            **extra,
        )

    def alarm_ack(self, message: UplinkMessage, now_ms: int) -> AlarmReceived:
        return AlarmReceived(
            device_id=message.device_id,
            ts=now_ms,
            ref_seq=message.seq,
            ref_boot=message.boot,
            incident_key=event_key(message.device_id, message.seq, message.boot),
        )

    def handle(
        self,
        message: AnyUplink,
        received_ms: int,
        *,
        digest: str | Callable[[], str] | None = None,
        unassigned: bool = False,
    ) -> Outcome:
        """``digest``: identity of the message bytes (``contracts.message_digest``), or a function that
        works it out once an event needs it; ``unassigned``: an alarm from a device missing from the
        registry snapshot."""
        if isinstance(message, Presence):
            return Outcome(self._run_detectors(message, received_ms, None, _Cause()))
        place = (message.boot, message.seq)
        self._last[message.device_id] = max(place, self._last.get(message.device_id, place))
        cause = _Cause(digest, unassigned)
        if isinstance(message, SosPress):
            event = self._event(
                message, EventKind.SOS, received_ms, cause, fix=message.fix, detail=message.trigger
            )
            return Outcome([event], self.alarm_ack(message, received_ms))
        if isinstance(message, FallSuspected):
            evidence = {"peak_g": message.peak_g, "confidence": message.confidence, "source": "device"}
            event = self._event(message, EventKind.FALL_DEVICE, received_ms, cause, evidence=evidence)
            return Outcome([event], self.alarm_ack(message, received_ms))
        if isinstance(message, SosCancel):
            ref = event_key(message.device_id, message.ref_seq, message.boot)
            return Outcome([self._event(message, EventKind.SOS_CANCEL, received_ms, cause, ref_key=ref)])
        if isinstance(message, PullCordAlarm):  # an alarm like SOS; the home detectors see it too
            evidence = {"sensor_id": message.sensor_id, "sensor_kind": "pull_cord", "source": "pull_cord"}
            event = self._event(
                message, EventKind.PULL_CORD, received_ms, cause, evidence=evidence, detail="pull_cord"
            )
            events = [event, *self._run_detectors(message, received_ms, message, cause)]
            return Outcome(events, self.alarm_ack(message, received_ms))
        if isinstance(message, HazardAlarm) and unassigned and message.state == "alarm":
            # a hub missing from the snapshot: no detector knows it, the hazard still reaches a human
            evidence = {"sensor_id": message.sensor_id, "source": "unassigned_hub"}
            kind = HAZARD_EVENT[message.hazard]
            key = finding_key(message.device_id, message.seq, message.boot, kind.value)
            event = self._event(
                message, kind, received_ms, cause, key=key, evidence=evidence, detail=kind.value
            )
            return Outcome([event], self.alarm_ack(message, received_ms))
        events = self._run_detectors(message, received_ms, message, cause)
        if is_alarm_channel(CHANNEL_OF[message.type]):  # a home hazard: acknowledged once on disk
            return Outcome(events, self.alarm_ack(message, received_ms))
        return Outcome(events)

    def _run_detectors(
        self, message: AnyUplink, received_ms: int, uplink: UplinkMessage | None, cause: _Cause
    ) -> list[EdgeEvent]:
        events: list[EdgeEvent] = []
        for detector in self.detectors:
            try:
                findings = detector.observe(message, received_ms)
            except Exception:  # one failing detector must not stop the others or the loop
                self._failed(detector.name, message.device_id)
                continue
            if uplink is None:
                events += [self._unsolicited(message.device_id, f, received_ms) for f in findings]
                continue
            for finding in findings:
                events.append(
                    self._event(
                        uplink,
                        finding.kind,
                        received_ms,
                        cause,
                        key=finding_key(uplink.device_id, uplink.seq, uplink.boot, finding.kind.value),
                        device_ts=finding.t_ms,
                        detail=finding.detail,
                        evidence=finding.evidence,
                        fix=finding.fix,
                    )
                )
        return events

    def _failed(self, name: str, device_id: str | None) -> None:
        self.failures[name] = self.failures.get(name, 0) + 1
        if self._on_failure is not None:
            self._on_failure(name)
        log.exception("detector.failed detector=%s device=%s", name, device_id)

    def _unsolicited(self, device_id: str, finding: Finding, now_ms: int) -> EdgeEvent:
        """An event no uplink caused: keyed by the device's last message, the kind and the decision time."""
        boot, seq = self._last.get(device_id, (0, 0))
        return EdgeEvent(
            key=tick_key(device_id, seq, boot, finding.kind.value, finding.t_ms),
            edge_id=self.edge_id,
            device_id=device_id,
            boot=boot,
            seq=seq,
            kind=finding.kind,
            severity=DEFAULT_SEVERITY[finding.kind],
            device_ts=finding.t_ms,
            edge_ts=now_ms,
            detail=finding.detail,
            evidence=finding.evidence,
            fix=finding.fix,
        )

    def tick(self, now_ms: int) -> list[EdgeEvent]:
        """Run every detector's time-driven checks (silence, inactivity)."""
        events: list[EdgeEvent] = []
        for detector in self.detectors:
            try:
                found = detector.tick(now_ms)
            except Exception:
                self._failed(detector.name, None)
                continue
            events += [self._unsolicited(device_id, f, now_ms) for device_id, f in found]
        return events
