"""The edge gateway: MQTT ingest → validation → detection → durable outbox → cloud, and back.

``Gateway.run()`` runs every part in one ``asyncio.TaskGroup`` until cancelled. ``started`` is set once
the outbox is open, the registry is loaded and both lanes' subscriptions are confirmed by the broker:
the alarm lane (``sos``/``fall`` on their own connection, handled first) and the telemetry lane.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence

import httpx
import orjson
from prometheus_client import CollectorRegistry

from contracts import DeviceKind
from contracts.care_plan import CarePlan
from contracts.topics import ALARM_CHANNELS, TELEMETRY_CHANNEL_NAMES, TELEMETRY_CHANNELS, uplink_filters
from edge.database import Database
from edge.degraded import make_notifier
from edge.degraded.mode import DegradedMode
from edge.degraded.records import SmsRecords
from edge.delivery.backoff import Backoff
from edge.delivery.claims import KeyClaims
from edge.delivery.cloud_client import CloudClient
from edge.delivery.commands import CommandStream
from edge.delivery.forwarder import Forwarder
from edge.delivery.outbox import Outbox
from edge.detection.detectors import DeviceFacts, default_detectors
from edge.detection.fleet_clock import FleetClock
from edge.detection.home.config import SensorInfo
from edge.errors import OutboxError
from edge.ingest.alarm_lane import AlarmLane
from edge.ingest.backlog import TickClock
from edge.ingest.mqtt import MqttIngest, RawMessage
from edge.ingest.sequence import SequenceTracker, WindowLimits
from edge.ingest.subscriptions import owned_devices
from edge.ingest.uplinks import UplinkHandler
from edge.ingest.validation import Validator
from edge.liveness.detector import Liveness
from edge.liveness.last_seen import LastSeenStore
from edge.metrics import EdgeMetrics, serve_metrics
from edge.pipeline import Detector, Pipeline
from edge.registry.store import DeviceRegistry, RegistryStore
from edge.registry.sync import RegistrySync
from edge.settings import EdgeSettings
from edge.telemetry.feed import TelemetryFeed, make_sink

log = logging.getLogger(__name__)

BATCH_MAX = 256  # uplinks handled per loop wake-up at most
BATCH_WINDOW_S = 0.001  # under load, how long the loop lets a batch build before handling it
YIELD_EVERY_S = 0.002  # within a batch, let the loop read its sockets (an alarm may be waiting) this often


REFERENCE_REFRESH_MS = 250


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Gateway:
    def __init__(
        self,
        settings: EdgeSettings,
        *,
        clock_ms: Callable[[], int] = wall_clock_ms,
        detectors: Sequence[Detector] | None = None,
        cloud_transport: httpx.AsyncBaseTransport | None = None,
        twilio_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.started = asyncio.Event()
        self.meters = EdgeMetrics()
        self.metrics: CollectorRegistry = self.meters.registry
        self._clock_ms = clock_ms
        s = settings
        self.db = Database(s.database_path)
        self.outbox = Outbox(self.db)
        self.registry = DeviceRegistry()
        self.fleet_clock = FleetClock()  # device time, from the messages: drives the periodic tick
        self._reference_at = -REFERENCE_REFRESH_MS  # when the fleet clock's lead was last read
        self._fleet_lead_ms = 0
        limits = WindowLimits(
            window=s.sequence_window,
            max_seq_jump=max(s.sequence_window, s.max_seq_jump),
            max_boot_jump=s.max_boot_jump,
            max_ahead_ms=int(s.max_clock_ahead_s * 1000),
        )
        self.validator = Validator(
            self.registry,
            SequenceTracker(limits=limits),
            accept_unknown_devices=s.accept_unknown_devices,
            max_payload_bytes=s.max_payload_bytes,
            reference_ms=self._reference_ms,
        )

        def detector_failed(name: str) -> None:
            self.meters.detector_errors.labels(detector=name).inc()

        self.liveness: Liveness | None = None  # dead-device detection (with the default detectors)
        if detectors is None:
            detectors = default_detectors(
                self._kind_of,
                plan_of=self._plan_of,
                clock=self.fleet_clock,
                on_failure=detector_failed,
                sensors_of=self._sensors_of,
            )
            self.liveness = Liveness(
                clock=self.fleet_clock,
                kind_of=self._kind_of,
                plan_of=self._plan_of,
                offline_grace_s=s.offline_grace_s,
                feed_clock=not any(d.name == "detection" for d in detectors),
            )
            detectors = [*detectors, self.liveness]
        self.last_seen = LastSeenStore(self.db)
        self.pipeline = Pipeline(s.edge_id, detectors, on_failure=detector_failed)
        self.telemetry = TelemetryFeed(
            make_sink(s, clock_ms),
            edge_id=s.edge_id,
            kind_of=self._kind_of,
            metrics=self.metrics,
            clock_ms=clock_ms,
            sample_s=s.telemetry_sample_s,
        )
        self.cloud = CloudClient(
            base_url=s.cloud_url,
            token=s.cloud_token.get_secret_value(),
            edge_id=s.edge_id,
            timeout_s=s.http_timeout_s,
            transport=cloud_transport,
            on_event_posted=self.telemetry.forward_times.record,
            on_status=lambda up: self.meters.cloud_up.set(1 if up else 0),
        )
        self.ingest = MqttIngest(  # telemetry lane (paho, own thread, sheds when behind)
            endpoint=s.mqtt,
            client_id=s.client_id,
            topic_filters=uplink_filters(TELEMETRY_CHANNELS, s.shared_group),
            protocol=s.mqtt_protocol,
            queue_size=s.ingest_queue_size,
            shed_lag_s=s.shed_lag_s,
            session_expiry_s=s.session_expiry_s,
            connack_timeout_s=min(s.mqtt_timeout_s, 5.0),
            clock_ms=clock_ms,
            on_connected=lambda up: self.meters.mqtt_connected.set(1 if up else 0),
            on_shed=lambda channel: self.meters.shed.labels(channel=channel).inc(),
            owns=None if s.workers == 1 else s.partition.owns_topic,
            on_skipped=self.meters.partition_skipped.inc,
            channels=None if s.workers == 1 else TELEMETRY_CHANNEL_NAMES,
            shared_group=s.shared_group,
            on_devices=self.meters.subscribed_devices.set,
            subscribe_timeout_s=s.mqtt_timeout_s,
        )

        def backoff() -> Backoff:
            return Backoff(s.backoff_initial_s, max(s.backoff_max_s, s.backoff_initial_s))

        self.alarms = AlarmLane(  # alarm lane (aiomqtt on the loop, own session and keep-alive)
            endpoint=s.mqtt,
            client_id=f"{s.client_id}-alarms",
            topic_filters=uplink_filters(ALARM_CHANNELS, s.shared_group),
            version=self._mqtt_version,
            keepalive_s=s.alarm_keepalive_s,
            session_expiry_s=s.session_expiry_s,
            timeout_s=s.mqtt_timeout_s,
            clock_ms=clock_ms,
            backoff=Backoff(0.2, 5.0),
            on_connected=lambda up: self.meters.alarm_lane_connected.set(1 if up else 0),
            owns=None if s.workers == 1 else s.partition.owns_topic,
            on_skipped=self.meters.partition_skipped.inc,
        )
        self.tick_clock = TickClock()

        claims = KeyClaims()  # forwarder and degraded mode never work on one event at once
        self.forwarder = Forwarder(
            outbox=self.outbox,
            cloud=self.cloud,
            metrics=self.meters,
            clock_ms=clock_ms,
            backoff=backoff(),
            row_backoff=backoff(),
            batch=s.forward_batch,
            concurrency=s.forward_concurrency,
            claims=claims,
            probe_s=s.cloud_probe_s,
            probe_timeout_s=min(s.http_timeout_s, max(1.0, 2 * s.cloud_probe_s)),
        )
        self.sms_records = SmsRecords(self.db)
        self.notifier = make_notifier(s, clock_ms, transport=twilio_transport)
        self.degraded: DegradedMode | None = None
        if self.notifier is not None:
            self.degraded = DegradedMode(
                outbox=self.outbox,
                records=self.sms_records,
                registry=self.registry,
                notifier=self.notifier,
                claims=claims,
                metrics=self.meters,
                clock_ms=clock_ms,
                delay_s=s.degraded_after_s,
                send_timeout_s=s.http_timeout_s,
                on_released=self.forwarder.wake,
            )
        self.commands = CommandStream(
            edge_id=s.edge_id,
            cloud=self.cloud,
            publish=self._publish_confirmed,
            metrics=self.meters,
            backoff=backoff(),
            idle_timeout_s=s.command_idle_timeout_s,
        )
        self.registry_sync = RegistrySync(
            registry=self.registry,
            store=RegistryStore(self.db),
            cloud=self.cloud,
            metrics=self.meters,
            clock_ms=clock_ms,
            backoff=backoff(),
            refresh_s=s.registry_refresh_s,
            on_replaced=self._follow_registry,
        )
        self.uplinks = UplinkHandler(
            validator=self.validator,
            pipeline=self.pipeline,
            outbox=self.outbox,
            downlink=self.alarms.publish,
            metrics=self.meters,
            clock_ms=clock_ms,
            on_stored=self._stored,
            on_unknown_device=self.registry_sync.request_refresh,
            on_presence=self._note_devices,
            on_accepted=self.telemetry.uplink,
        )
        self.handled = 0  # messages taken off the ingest queue and handled (accepted or rejected)
        self._handled_cond = asyncio.Condition()

    def _follow_registry(self) -> None:
        """One worker of several subscribes to its own devices by name once a snapshot names them
        (edge.ingest.subscriptions); with one worker, or accepting unregistered devices, site-wide."""
        s = self.settings
        if s.workers > 1 and self.registry.loaded and not s.accept_unknown_devices:
            self.ingest.want_devices(owned_devices(self.registry.device_ids(), s.partition))

    def _stored(self) -> None:
        self.forwarder.wake()
        if self.degraded is not None:
            self.degraded.wake()

    async def _dev_sms(self) -> bytes:
        """``GET /dev/sms``: what degraded mode texted (console notifier), numbers masked."""
        return orjson.dumps([dataclasses.asdict(v) for v in await self.sms_records.recent()])

    def _reference_ms(self, received_ms: int) -> int:
        """The clock device clocks are checked against: the gateway's, or the fleet's when ahead of it
        (a simulation at ``--speed 60`` moves device time faster than the wall clock). The fleet's lead
        is read at most every ``REFERENCE_REFRESH_MS`` (a reading costs ~45 µs, a message ~50 µs)."""
        if not 0 <= received_ms - self._reference_at < REFERENCE_REFRESH_MS:
            self._reference_at = received_ms
            self._fleet_lead_ms = max(0, self.fleet_clock.now(received_ms) - received_ms)
        return received_ms + self._fleet_lead_ms

    def _kind_of(self, device_id: str) -> DeviceKind | None:
        found = self.registry.get(device_id)
        return None if found is None else found.kind

    def _plan_of(self, device_id: str) -> CarePlan | None:
        found = self.registry.get(device_id)
        return None if found is None else found.care_plan

    def _sensors_of(self, hub_id: str) -> dict[str, SensorInfo]:
        return {
            s.device_id: SensorInfo(sensor_id=s.device_id, kind=s.kind.value, room=s.room)
            for s in self.registry.sensors_of(hub_id)
        }

    # -- accessors for tests and the demo ----------------------------------------------------------
    def rejected_count(self, reason: str) -> float:
        return self.metrics.get_sample_value("anxin_edge_rejected_total", {"reason": reason}) or 0.0

    def accepted_count(self, message_type: str) -> float:
        return self.metrics.get_sample_value("anxin_edge_accepted_total", {"type": message_type}) or 0.0

    async def wait_handled(self, count: int, within_s: float = 10.0) -> None:
        """Wait until at least ``count`` messages were handled since start."""
        await self.wait_until(lambda: self.handled >= count, within_s)

    async def wait_until(self, predicate: Callable[[], bool], within_s: float = 10.0) -> None:
        """Wait until ``predicate`` holds, checked each time the gateway has handled messages."""
        async with asyncio.timeout(within_s), self._handled_cond:
            await self._handled_cond.wait_for(predicate)

    async def wait_delivered(self, key: str, within_s: float = 10.0) -> None:
        """Wait until the event ``key`` is marked delivered in the outbox."""
        await self.wait_outbox_status(key, "delivered", within_s)

    async def wait_outbox_status(self, key: str, status: str, within_s: float = 10.0) -> None:
        """Wait until the outbox row ``key`` has ``status`` (pending, delivered, rejected)."""
        forwarder = self.forwarder
        async with asyncio.timeout(within_s):
            while True:
                before = forwarder.rounds
                if await self.outbox.status_of(key) == status:
                    return
                async with forwarder.progress:
                    await forwarder.progress.wait_for(lambda b=before: forwarder.rounds > b)  # type: ignore[misc]

    # -- run ---------------------------------------------------------------------------------------
    async def run(self) -> None:
        s = self.settings
        await self.db.open()
        log.info("gateway.starting edge_id=%s", s.edge_id)
        try:
            await self.registry_sync.load_cached()
            fetched = await self.registry_sync.refresh()
            counts = await self.outbox.counts()
            self.meters.outbox_pending.set(counts.pending)
            if self.liveness is not None:
                restored = await self.liveness.restore(self.last_seen)
                log.info("liveness.restored devices=%d", restored)
            async with asyncio.TaskGroup() as tasks:
                metrics_ready = asyncio.Event()
                if s.worker_metrics_port > 0:
                    dev_sms = self._dev_sms if s.notifier == "console" else None
                    tasks.create_task(
                        serve_metrics(
                            self.meters,
                            s.metrics_host,
                            s.worker_metrics_port,
                            metrics_ready,
                            s.metrics_token.get_secret_value() if s.metrics_token else None,
                            dev_sms=dev_sms,
                        )
                    )
                else:
                    metrics_ready.set()
                tasks.create_task(self.ingest.run())
                tasks.create_task(self.alarms.run(self._handle_alarm))
                tasks.create_task(self._consume())
                tasks.create_task(self.forwarder.run())
                if self.degraded is not None:  # every worker: each owns its partition's outbox
                    tasks.create_task(self.degraded.run())
                if s.partition.index == 0:  # one command stream: any worker can publish a downlink
                    tasks.create_task(self.commands.run())
                tasks.create_task(self.registry_sync.run(fetched=fetched))
                tasks.create_task(self._housekeeping())
                tasks.create_task(self._ticker())
                if self.liveness is not None:
                    tasks.create_task(self._remember_last_seen(self.liveness))
                tasks.create_task(self.telemetry.run())  # never raises: a failing sink is switched off
                await metrics_ready.wait()
                await self.ingest.subscribed.wait()
                await self.alarms.subscribed.wait()
                self.started.set()
                log.info("gateway.started edge_id=%s pending=%d", s.edge_id, counts.pending)
        finally:
            if self.liveness is not None:
                with contextlib.suppress(Exception):
                    await self.liveness.flush(self.last_seen)
            await self.telemetry.close()
            with contextlib.suppress(Exception):
                await self.cloud.aclose()
            if self.notifier is not None:
                with contextlib.suppress(Exception):
                    await self.notifier.aclose()
            await self.db.close()
            log.info("gateway.stopped edge_id=%s", s.edge_id)

    async def _mqtt_version(self) -> int:
        """The MQTT version for the alarm lane: as set, or (auto) what the broker took from the
        telemetry lane's first connection."""
        if self.settings.mqtt_protocol == "auto":
            await self.ingest.connected.wait()
        return int(self.ingest.version)

    async def _handle_alarm(self, raw: RawMessage) -> bool:
        """One alarm from the alarm lane; True once it is stored (then the broker gets its PUBACK)."""
        stored = True
        self.ingest.hold()
        try:
            await self.uplinks.handle(raw)
        except OutboxError:
            stored = False  # not on disk: no PUBACK, the broker redelivers after a reconnect
            self.meters.handler_errors.inc()
            log.exception("uplink.store_failed")
        except Exception:
            self.meters.handler_errors.inc()
            log.exception("uplink.handler_failed")
        finally:
            self.ingest.resume()
        async with self._handled_cond:
            self.handled += 1
            self._handled_cond.notify_all()
        return stored

    async def _consume(self) -> None:
        """Handle telemetry one by one in arrival order, taken off the ingest queue in batches; before
        each message, wait while the alarm lane has an alarm waiting or in hand.

        Under load (the last batch held more than one message) the loop first lets a batch build for
        up to ``BATCH_WINDOW_S``: paho's thread and the loop then hand the GIL over once per batch
        instead of once per message (measured: twice the throughput, half the CPU per message).
        """
        ingest, alarms = self.ingest, self.alarms
        last = 0
        while True:
            if last > 1 and ingest.qsize() < BATCH_MAX:
                await asyncio.sleep(BATCH_WINDOW_S)
            batch = await ingest.get_batch(BATCH_MAX)
            last = len(batch)
            yield_at = time.perf_counter() + YIELD_EVERY_S
            for raw in batch:
                if time.perf_counter() > yield_at:  # the alarm lane's socket is read by this loop too
                    await asyncio.sleep(0)
                    yield_at = time.perf_counter() + YIELD_EVERY_S
                if alarms.busy:
                    await alarms.wait_idle()
                try:
                    await self.uplinks.handle(raw)
                except Exception:  # telemetry is acknowledged on receipt: count, log, go on
                    self.meters.handler_errors.inc()
                    log.exception("uplink.handler_failed")
            self.meters.queue_depth.set(ingest.qsize())
            self.meters.ingest_lag.set(ingest.lag_ms(self._clock_ms()) / 1000)
            async with self._handled_cond:
                self.handled += last
                self._handled_cond.notify_all()

    async def _publish_confirmed(self, topic: str, payload: bytes) -> None:
        await self.alarms.publish_confirmed(topic, payload)

    def _note_devices(self) -> None:
        for detector in self.pipeline.detectors:
            if isinstance(detector, DeviceFacts):
                self.meters.devices_online.set(detector.online_count())

    async def _ticker(self) -> None:
        """Time-driven detection (device silent, inactivity) every ``tick_s``, at the time up to which
        the gateway has heard everything: behind a backlog the tick runs that much earlier, and while
        telemetry is being shed it does not move on (a shed heartbeat is no sign of silence)."""
        ingest = self.ingest
        while True:
            await asyncio.sleep(self.settings.tick_s)
            now = self._clock_ms()
            lag_ms = ingest.lag_ms(now)
            self.meters.ingest_lag.set(lag_ms / 1000)
            tick_ms = self.tick_clock.advance(now, lag_ms=lag_ms, shed_total=ingest.shed_total())
            if tick_ms < now - lag_ms:
                log.info("tick.held behind_ms=%d reason=shedding", now - tick_ms)
            try:
                await self.uplinks.store(self.pipeline.tick(tick_ms))
            except OutboxError:
                self.meters.handler_errors.inc()
                log.exception("tick.store_failed")

    async def _remember_last_seen(self, liveness: Liveness) -> None:
        """Every ``last_seen_flush_s``: write the devices' last-seen changes in one transaction."""
        while True:
            await asyncio.sleep(self.settings.last_seen_flush_s)
            try:
                await liveness.flush(self.last_seen)
            except OutboxError:
                log.exception("liveness.flush_failed")

    async def _housekeeping(self) -> None:
        """Every minute: forget old delivered events and finished edge texts, refresh gauges."""
        while True:
            retention_ms = int(self.settings.delivered_retention_s * 1000)
            cutoff_ms = self._clock_ms() - retention_ms
            pruned = await self.outbox.prune_delivered(older_than_ms=cutoff_ms)
            if pruned:
                log.info("outbox.pruned rows=%d", pruned)
            texts = await self.sms_records.prune(older_than_ms=cutoff_ms)
            if texts:
                log.info("edge_sms.pruned rows=%d", texts)
            counts = await self.outbox.counts()
            self.meters.outbox_pending.set(counts.pending)
            self.meters.queue_depth.set(self.ingest.qsize())
            self._note_devices()
            await asyncio.sleep(60)
