"""What the gateway does with one uplink: validate, route, store, then acknowledge the alarm.

The order is the point: an alarm's event is committed to the outbox (fsynced) *before* the device gets
its ``AlarmReceived`` and before the broker gets its PUBACK.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from contracts import AnyUplink, EdgeEvent, FallSuspected, Presence, SosPress, UplinkChannel, downlink_topic
from contracts import encode as encode_message
from edge.delivery.outbox import Outbox
from edge.errors import OutboxError
from edge.ingest.mqtt import MqttIngest, RawMessage
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
        ingest: MqttIngest,
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
        self._ingest = ingest
        self._meters = metrics
        self._clock_ms = clock_ms
        self._on_stored = on_stored
        self._on_unknown_device = on_unknown_device
        self._on_presence = on_presence
        self._on_accepted = on_accepted  # telemetry: called last, once the alarm (if any) is acknowledged

    async def handle(self, raw: RawMessage) -> None:
        """Raises :class:`OutboxError` when the events could not be stored (nothing was acknowledged)."""
        channel = raw.topic.rpartition("/")[2]
        self._meters.received.labels(channel=channel if channel in _CHANNELS else "other").inc()
        verdict = self.validator.check(raw.topic, raw.payload)
        if not isinstance(verdict, Accepted):
            self._meters.rejected.labels(reason=verdict.reason).inc()
            log.info("uplink.rejected device=%s reason=%s", verdict.device_id, verdict.reason)
            if verdict.reason == "unknown_device":
                self._on_unknown_device()
            if isinstance(verdict.message, SosPress | FallSuspected):
                await self._ack_again(verdict.message, raw)
            return
        message = verdict.message
        self._meters.accepted.labels(type=message.type).inc()
        outcome = self.pipeline.handle(message, raw.received_ms)
        try:
            await self.store(outcome.events)
        except OutboxError:
            if not isinstance(message, Presence):  # not stored: the broker's redelivery must get in
                self.validator.sequences.unmark(message.device_id, message.seq)
            raise
        if outcome.ack is not None:  # only now: the alarm is committed to disk
            self._publish_ack(outcome.ack.device_id, encode_message(outcome.ack), raw)
        if isinstance(message, Presence):
            self._on_presence()
        if self._on_accepted is not None:
            self._on_accepted(message, raw.received_ms)

    async def store(self, events: list[EdgeEvent]) -> None:
        for event in events:
            started = time.perf_counter()
            new = await self._outbox.add(event, now_ms=self._clock_ms())
            self._meters.outbox_write_seconds.observe(time.perf_counter() - started)
            if new:
                self._meters.events.labels(kind=event.kind.value).inc()
                log.info(
                    "incident.created key=%s kind=%s severity=%s",
                    event.key,
                    event.kind.value,
                    event.severity.value,
                )
            else:
                self._meters.duplicate_events.inc()
        if events:
            self._on_stored()

    async def _ack_again(self, message: AnyUplink, raw: RawMessage) -> None:
        """A repeated alarm: the device may have missed our AlarmReceived, so send it again."""
        assert isinstance(message, SosPress | FallSuspected)
        if await self._outbox.status_of(message.key) is None:
            return  # too old to be in the outbox any more (or never stored): nothing to confirm
        ack = self.pipeline.alarm_ack(message, self._clock_ms())
        self._publish_ack(message.device_id, encode_message(ack), raw)

    def _publish_ack(self, device_id: str, payload: bytes, raw: RawMessage) -> None:
        self._ingest.publish(downlink_topic(device_id), payload, qos=1)
        self._meters.downlinks.labels(type="alarm_received").inc()
        self._meters.alarm_ack_seconds.observe(time.perf_counter() - raw.received_mono)
