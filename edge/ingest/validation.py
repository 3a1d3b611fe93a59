"""Is this uplink acceptable? Contract decoding, device registry and sequence window (pure, no I/O).

Alarms (``sos``, ``fall``) are judged differently from everything else, because refusing one can cost
a life: once decoded they are always accepted — from a device missing from the registry snapshot too
(flagged ``unassigned``: the center shows it as an unassigned alarm), and whatever the sequence window
says (a copy of a stored alarm is told apart by the outbox, byte for byte, and acknowledged again; an
implausible one is logged and counted, and moves nothing). Every other message must come from a known
device and pass the window; an implausible one is quarantined with its reason (``clock_ahead``,
``boot_jump``, ``seq_jump``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from contracts import AnyUplink, ContractError, FallSuspected, Presence, SosPress, decode_uplink
from contracts.home import HazardAlarm, PullCordAlarm, SensorUplink
from contracts.topics import parse_uplink_topic
from edge.ingest.sequence import SequenceTracker, Verdict
from edge.registry.store import DeviceRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Accepted:
    message: AnyUplink
    verdict: Verdict | None  # None for presence (it has no seq)
    unassigned: bool = False  # an alarm from a device missing from the registry snapshot

    @property
    def implausible(self) -> bool:
        """An alarm the window would have quarantined (accepted all the same; it moved nothing)."""
        return self.verdict is not None and self.verdict.quarantined


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str  # one of edge.metrics.REJECT_REASONS (``foreign_sensor``: a hub naming another's sensor)
    device_id: str | None  # from the topic when it could be parsed (safe to log)


def topic_device(topic: str) -> str | None:
    try:
        return parse_uplink_topic(topic).device_id
    except ContractError:
        return None


def _wall(received_ms: int) -> int:
    return received_ms


class Validator:
    def __init__(
        self,
        registry: DeviceRegistry,
        sequences: SequenceTracker,
        *,
        accept_unknown_devices: bool,
        max_payload_bytes: int,
        reference_ms: Callable[[int], int] = _wall,
    ) -> None:
        self.registry = registry
        self.sequences = sequences
        self.accept_unknown_devices = accept_unknown_devices
        self.max_payload_bytes = max_payload_bytes
        self._reference_ms = reference_ms  # receipt time -> the clock device clocks are checked against
        self._warned_no_snapshot = False

    def check(self, topic: str, payload: bytes, received_ms: int) -> Accepted | Rejected:
        try:
            message = decode_uplink(topic, payload, limit=self.max_payload_bytes)
        except ContractError as exc:
            return Rejected(exc.reason, topic_device(topic))
        device_id = message.device_id
        # alarms are never refused by the window (copies are re-acknowledged); the pack's pull-cord and a
        # hazard's alarm too
        alarm = isinstance(message, SosPress | FallSuspected | PullCordAlarm) or (
            isinstance(message, HazardAlarm) and message.state == "alarm"
        )
        known = self._known(device_id)
        if not known and not alarm:
            return Rejected("unknown_device", device_id)
        if isinstance(message, Presence):
            return Accepted(message, None)
        if isinstance(message, SensorUplink) and not self._own_sensor(device_id, message.sensor_id):
            return Rejected("foreign_sensor", device_id)
        verdict = self.sequences.check(
            device_id, message.seq, message.ts, boot=message.boot, now_ms=self._reference_ms(received_ms)
        )
        if verdict is Verdict.RESTARTED:
            log.warning("uplink.sequence_restarted device=%s boot=%d", device_id, message.boot)
        if alarm:
            if verdict.quarantined:
                log.warning("uplink.alarm_implausible device=%s reason=%s", device_id, verdict.value)
            return Accepted(message, verdict, unassigned=not known)
        if verdict.quarantined:
            log.warning("uplink.quarantined device=%s reason=%s", device_id, verdict.value)
            return Rejected(verdict.value, device_id)
        if not verdict.accepted:
            return Rejected("replayed", device_id)
        return Accepted(message, verdict)

    def _own_sensor(self, hub_id: str, sensor_id: str) -> bool:
        """A hub speaks only for the sensors registered to it (not another home's)."""
        if self.accept_unknown_devices or not self.registry.loaded:
            return True
        return self.registry.sensor_of(hub_id, sensor_id) is not None

    def _known(self, device_id: str) -> bool:
        if self.accept_unknown_devices or self.registry.knows(device_id):
            return True
        if not self.registry.loaded:
            if not self._warned_no_snapshot:
                self._warned_no_snapshot = True
                log.warning("registry.no_snapshot accepting every device until the first snapshot arrives")
            return True
        return False
