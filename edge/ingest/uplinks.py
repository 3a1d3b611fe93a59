"""What the gateway does with one uplink: validate, route, store, then acknowledge the alarm.

The order is the point: an alarm's event is committed to the outbox (fsynced) *before* the device gets
its ``AlarmReceived`` and before the broker gets its PUBACK. The outbox decides whether an alarm is new:
a byte-for-byte copy of a stored one is acknowledged again (not stored twice); a different message under
a taken key is stored under its variant key (:mod:`contracts.identity`), and the ack names that key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from contracts import AnyUplink, EdgeEvent, Presence, UplinkChannel, downlink_topic, message_digest
from contracts import encode as encode_message
from edge.delivery.outbox import Outbox, Stored
from edge.errors import OutboxError
from edge.ingest.mqtt import RawMessage
from edge.ingest.validation import Accepted, Validator
from edge.metrics import EdgeMetrics
from edge.pipeline import Pipeline

log = logging.getLogger(__name__)

_CHANNELS = frozenset(channel.value for channel in UplinkChannel)


class UplinkHandler:
    def __init__(
        self,
        *,
        validator: Validator,
        pipeline: Pipeline,
        outbox: Outbox,
        downlink: Callable[[str, bytes], None],
        metrics: EdgeMetrics,
        clock_ms: Callable[[], int],
        on_stored: Callable[[], None],
        on_unknown_device: Callable[[], None],
        on_presence: Callable[[], None],
        on_accepted: Callable[[AnyUplink, int], None] | None = None,
    ) -> None:
        self.validator = validator
        self.pipeline = pipeline
        self._outbox = outbox
        self._downlink = downlink  # publishes at QoS 1 (the alarm lane's connection)
        self._meters = metrics
        self._clock_ms = clock_ms
        self._on_stored = on_stored
        self._on_unknown_device = on_unknown_device
        self._on_presence = on_presence
        self._on_accepted = on_accepted  # telemetry: called last, once the alarm (if any) is acknowledged
        # the counters' children by label value (``labels()`` costs more than the increment)
        self._received: dict[str, Any] = {}
        self._accepted: dict[str, Any] = {}

    async def handle(self, raw: RawMessage) -> None:
        """Raises :class:`OutboxError` when the events could not be stored (nothing was acknowledged)."""
        channel = raw.topic.rpartition("/")[2]
        label = channel if channel in _CHANNELS else "other"  # bounded: a topic may name anything
        received = self._received.get(label)
        if received is None:
            received = self._received[label] = self._meters.received.labels(channel=label)
        received.inc()
        verdict = self.validator.check(raw.topic, raw.payload, raw.received_ms)
        if not isinstance(verdict, Accepted):
            self._meters.rejected.labels(reason=verdict.reason).inc()
            log.info("uplink.rejected device=%s reason=%s", verdict.device_id, verdict.reason)
            if verdict.reason == "unknown_device":
                self._on_unknown_device()
            return
        message = verdict.message
        accepted = self._accepted.get(message.type)
        if accepted is None:
            accepted = self._accepted[message.type] = self._meters.accepted.labels(type=message.type)
        accepted.inc()
        if verdict.unassigned:
            self._meters.unassigned_alarms.inc()
            self._on_unknown_device()
        if verdict.implausible and verdict.verdict is not None:
            self._meters.implausible_alarms.labels(reason=verdict.verdict.value).inc()
        digest = None if isinstance(message, Presence) else partial(message_digest, raw.payload)
        outcome = self.pipeline.handle(message, raw.received_ms, digest=digest, unassigned=verdict.unassigned)
        try:
            stored = await self.store(outcome.events)
        except OutboxError:
            if not isinstance(message, Presence):  # not stored: the broker's redelivery must get in
                self.validator.sequences.unmark(message.device_id, message.seq, message.boot)
            raise
        if outcome.ack is not None:  # only now: the alarm is committed to disk, under ``stored[0].key``
            ack = outcome.ack  # (a home hazard may store nothing of its own: a muted repeat, a clear)
            if stored and stored[0].key != ack.incident_key:
                ack = ack.model_copy(update={"incident_key": stored[0].key})
            self._publish_ack(ack.device_id, encode_message(ack), raw)
        if isinstance(message, Presence):
            self._on_presence()
        if self._on_accepted is not None:
            self._on_accepted(message, raw.received_ms)

    async def store(self, events: list[EdgeEvent]) -> list[Stored]:
        """Store ``events`` durably; where each one is (a copy of a stored message: where that one is)."""
        stored: list[Stored] = []
        for event in events:
            started = time.perf_counter()
            place = await self._outbox.add(event, now_ms=self._clock_ms())
            self._meters.outbox_write_seconds.observe(time.perf_counter() - started)
            stored.append(place)
            if place.new:
                self._meters.events.labels(kind=event.kind.value).inc()
                log.info(
                    "incident.created key=%s kind=%s severity=%s",
                    place.key,
                    event.kind.value,
                    event.severity.value,
                )
            else:
                self._meters.duplicate_events.inc()
        if events:
            self._on_stored()
        return stored

    def _publish_ack(self, device_id: str, payload: bytes, raw: RawMessage) -> None:
        self._downlink(downlink_topic(device_id), payload)
        self._meters.downlinks.labels(type="alarm_received").inc()
        self._meters.alarm_ack_seconds.observe(time.perf_counter() - raw.received_mono)
