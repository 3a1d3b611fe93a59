"""Route validated uplinks to events (pure): alarms straight through, telemetry through detectors.

``SosPress`` → ``sos``, ``SosCancel`` → ``sos_cancel`` (``ref_key`` names the cancelled alarm),
``FallSuspected`` → ``fall_device``; these are keyed ``device_id:seq`` and the device gets an
:class:`~contracts.AlarmReceived` once the event is on disk. Every other message goes to the
:class:`Detector` ports; a finding becomes an event keyed ``device_id:seq.kind`` (the message that
completed the decision, plus the kind, so one message may raise several kinds and a replay raises none).
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
from contracts.intake import DEFAULT_SEVERITY

log = logging.getLogger(__name__)


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
        self._last_seq: dict[str, int] = {}  # keys events that no uplink caused (presence, ticks)

    def _event(self, message: UplinkMessage, kind: EventKind, received_ms: int, **extra: Any) -> EdgeEvent:
        return EdgeEvent(
            key=extra.pop("key", None) or event_key(message.device_id, message.seq),
            edge_id=self.edge_id,
            device_id=message.device_id,
            seq=message.seq,
            kind=kind,
            severity=DEFAULT_SEVERITY[kind],
            device_ts=extra.pop("device_ts", None) or message.ts,
            edge_ts=received_ms,
            **extra,
        )

    def alarm_ack(self, message: SosPress | FallSuspected, now_ms: int) -> AlarmReceived:
        return AlarmReceived(
            device_id=message.device_id,
            ts=now_ms,
            ref_seq=message.seq,
            incident_key=event_key(message.device_id, message.seq),
        )

    def handle(self, message: AnyUplink, received_ms: int) -> Outcome:
        if isinstance(message, Presence):
            return Outcome(self._run_detectors(message, received_ms, None))
        self._last_seq[message.device_id] = max(message.seq, self._last_seq.get(message.device_id, 0))
        if isinstance(message, SosPress):
            event = self._event(message, EventKind.SOS, received_ms, fix=message.fix, detail=message.trigger)
            return Outcome([event], self.alarm_ack(message, received_ms))
        if isinstance(message, FallSuspected):
            evidence = {"peak_g": message.peak_g, "confidence": message.confidence, "source": "device"}
            event = self._event(message, EventKind.FALL_DEVICE, received_ms, evidence=evidence)
            return Outcome([event], self.alarm_ack(message, received_ms))
        if isinstance(message, SosCancel):
            ref = event_key(message.device_id, message.ref_seq)
            return Outcome([self._event(message, EventKind.SOS_CANCEL, received_ms, ref_key=ref)])
        return Outcome(self._run_detectors(message, received_ms, message))

    def _run_detectors(
        self, message: AnyUplink, received_ms: int, uplink: UplinkMessage | None
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
                        key=f"{event_key(uplink.device_id, uplink.seq)}.{finding.kind.value}",
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
        """An event no uplink caused: keyed by the device's last seq, the kind and the decision time."""
        seq = self._last_seq.get(device_id, 0)
        return EdgeEvent(
            key=f"{event_key(device_id, seq)}.{finding.kind.value}.t{finding.t_ms}",
            edge_id=self.edge_id,
            device_id=device_id,
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
