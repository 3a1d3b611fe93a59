"""The gateway's side of telemetry: feed accepted uplinks and gateway counters into a ``TelemetrySink``.

``TelemetryFeed.uplink`` runs on the event loop after the uplink was handled (after an alarm's commit
and ``AlarmReceived``): it builds a point or two and appends them to the sink's bounded buffer, never
awaiting and never raising. ``run`` drives the sink's flush loop and samples the gateway's counters
every ``sample_s``; if the sink dies (its file cannot be opened, a bug) that is logged, telemetry stops
and the gateway goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import orjson
from prometheus_client import CollectorRegistry

from contracts import AnyUplink, DeviceKind
from edge.delivery.backoff import Backoff
from edge.settings import EdgeSettings
from edge.telemetry.influx import InfluxTelemetrySink
from edge.telemetry.points import forward_fields, gateway_fields, gateway_point, points_of, sink_fields
from edge.telemetry.sink import NullTelemetry, TelemetrySink
from edge.telemetry.sqlite import SqliteTelemetryStore

log = logging.getLogger(__name__)

MAX_LATENCIES = 10_000  # forward latencies kept between two samples (events are rare; a bound anyway)


def make_sink(settings: EdgeSettings, clock_ms: Callable[[], int]) -> TelemetrySink:
    s = settings
    batch, flush_s, buffer = s.telemetry_batch, s.telemetry_flush_s, s.telemetry_buffer
    backoff = Backoff(s.backoff_initial_s, max(s.backoff_max_s, s.backoff_initial_s))
    if s.telemetry == "sqlite":
        return SqliteTelemetryStore(
            s.telemetry_path,
            retention_days=s.telemetry_retention_days,
            clock_ms=clock_ms,
            batch_size=batch,
            flush_interval_s=flush_s,
            buffer_size=buffer,
            backoff=backoff,
        )
    if s.telemetry == "influx":
        assert s.influx_token is not None  # EdgeSettings refuses influx without a real token
        return InfluxTelemetrySink(
            url=s.influx_url,
            org=s.influx_org,
            bucket=s.influx_bucket,
            token=s.influx_token.get_secret_value(),
            timeout_s=s.http_timeout_s,
            batch_size=batch,
            flush_interval_s=flush_s,
            buffer_size=buffer,
            backoff=backoff,
        )
    return NullTelemetry()


class ForwardTimes:
    """Forward latencies (edge receipt → cloud confirmed) and intake round trips, since last taken."""

    def __init__(self, clock_ms: Callable[[], int]) -> None:
        self._clock_ms = clock_ms
        self.latencies_ms: list[float] = []
        self.rtts_ms: list[float] = []

    def record(self, body: bytes, rtt_s: float) -> None:
        if len(self.rtts_ms) >= MAX_LATENCIES:
            return
        self.rtts_ms.append(rtt_s * 1000)
        with contextlib.suppress(orjson.JSONDecodeError, TypeError, KeyError, ValueError):
            edge_ts = int(orjson.loads(body)["edge_ts"])
            self.latencies_ms.append(float(max(0, self._clock_ms() - edge_ts)))

    def take(self) -> tuple[list[float], list[float]]:
        out = (self.latencies_ms, self.rtts_ms)
        self.latencies_ms, self.rtts_ms = [], []
        return out


class TelemetryFeed:
    def __init__(
        self,
        sink: TelemetrySink,
        *,
        edge_id: str,
        kind_of: Callable[[str], DeviceKind | None],
        metrics: CollectorRegistry,
        clock_ms: Callable[[], int],
        sample_s: float,
    ) -> None:
        self.sink = sink
        self.edge_id = edge_id
        self.forward_times = ForwardTimes(clock_ms)
        self._kind_of = kind_of
        self._metrics = metrics
        self._clock_ms = clock_ms
        self._sample_s = sample_s
        self._tags: dict[str, dict[str, str]] = {}  # per device, rebuilt when its kind changes
        self.enabled = not isinstance(sink, NullTelemetry)
        self.errors = 0
        self.stopped = asyncio.Event()  # set when a failing sink switched telemetry off

    def uplink(self, message: AnyUplink, received_ms: int) -> None:
        """Record an accepted uplink. Never blocks, never raises."""
        if not self.enabled:
            return
        try:
            self.sink.write(points_of(message, self._tags_of(message.device_id), received_ms))
        except Exception:
            self.errors += 1
            if self.errors == 1:
                log.exception("telemetry.point_failed device=%s", message.device_id)

    def _tags_of(self, device_id: str) -> dict[str, str]:
        kind = self._kind_of(device_id)
        tags = self._tags.get(device_id)
        if tags is None or tags.get("kind") != (kind.value if kind else None):
            tags = {"device_id": device_id, "edge_id": self.edge_id}
            if kind is not None:
                tags["kind"] = kind.value
            self._tags[device_id] = tags
        return tags

    def sample(self) -> None:
        """Write one ``edge_gateway`` point: counters, gauges, forward latency, the sink's own health."""
        latencies, rtts = self.forward_times.take()
        fields = (
            gateway_fields(self._metrics),
            forward_fields(latencies, rtts),
            sink_fields(self.sink.stats),
        )
        self.sink.write([gateway_point(self.edge_id, self._clock_ms(), *fields)])

    async def run(self) -> None:
        """Until cancelled; a failing sink is logged and switched off, it never stops the gateway."""
        if not self.enabled:
            return
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self.sink.run())
                tasks.create_task(self._sample_periodically())
        except Exception:
            self.enabled = False
            self.stopped.set()
            log.exception("telemetry.stopped edge_id=%s", self.edge_id)

    async def _sample_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._sample_s)
            try:
                self.sample()
            except Exception:
                self.errors += 1
                log.exception("telemetry.sample_failed")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sink.close()
