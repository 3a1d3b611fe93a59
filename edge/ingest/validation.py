"""Is this uplink acceptable? Contract decoding, device registry and sequence window (pure, no I/O)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from contracts import AnyUplink, ContractError, Presence, decode_uplink
from contracts.topics import parse_uplink_topic
from edge.ingest.sequence import SequenceTracker, Verdict
from edge.registry.store import DeviceRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Accepted:
    message: AnyUplink
    verdict: Verdict | None  # None for presence (it has no seq)


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str  # one of edge.metrics.REJECT_REASONS
    device_id: str | None  # from the topic when it could be parsed (safe to log)
    message: AnyUplink | None = None  # set for ``replayed``: a repeated SOS is acknowledged again


def topic_device(topic: str) -> str | None:
    try:
        return parse_uplink_topic(topic).device_id
    except ContractError:
        return None


class Validator:
    def __init__(
        self,
        registry: DeviceRegistry,
        sequences: SequenceTracker,
        *,
        accept_unknown_devices: bool,
        max_payload_bytes: int,
    ) -> None:
        self.registry = registry
        self.sequences = sequences
        self.accept_unknown_devices = accept_unknown_devices
        self.max_payload_bytes = max_payload_bytes
        self._warned_no_snapshot = False

    def check(self, topic: str, payload: bytes) -> Accepted | Rejected:
        try:
            message = decode_uplink(topic, payload, limit=self.max_payload_bytes)
        except ContractError as exc:
            return Rejected(exc.reason, topic_device(topic))
        device_id = message.device_id
        if not self._known(device_id):
            return Rejected("unknown_device", device_id)
        if isinstance(message, Presence):
            return Accepted(message, None)
        verdict = self.sequences.check(device_id, message.seq, message.ts)
        if not verdict.accepted:
            return Rejected("replayed", device_id, message)
        if verdict is Verdict.RESTARTED:
            log.warning("uplink.sequence_restarted device=%s", device_id)
        return Accepted(message, verdict)

    def _known(self, device_id: str) -> bool:
        if self.accept_unknown_devices or self.registry.knows(device_id):
            return True
        if not self.registry.loaded:
            if not self._warned_no_snapshot:
                self._warned_no_snapshot = True
                log.warning("registry.no_snapshot accepting every device until the first snapshot arrives")
            return True
        return False
