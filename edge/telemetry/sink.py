"""Telemetry: what the gateway records for dashboards, and the ``TelemetrySink`` port it writes through.

A :class:`Point` is one row of a time series: a measurement, a few tags (``device_id``, ``kind``,
``edge_id`` only — never a name or anything else about a person), typed fields and a timestamp in
epoch milliseconds. The measurement names below are the whole schema (docs/edge.md lists the fields);
the dashboards in ``dashboards/`` may only query these.

Adapters: :class:`~edge.telemetry.sqlite.SqliteTelemetryStore` (the embedded default) and
:class:`~edge.telemetry.influx.InfluxTelemetrySink` (InfluxDB 2). Telemetry never stands in the way of
an alarm: ``write`` only appends to a bounded in-memory buffer, and a sink that fails is logged and
counted while the gateway goes on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from edge.errors import EdgeError

# Device measurements (tags: device_id, kind when the registry knows it, edge_id).
VITALS = "vitals"  # hr_bpm, spo2_pct, motion
DEVICE_STATUS = "device_status"  # battery_pct, charging, low_battery, rssi_dbm
LOCATION = "location"  # lat, lon, accuracy_m, speed_mps, source
WEAR = "wear"  # worn
PRESENCE = "presence"  # online
ACTIVITY = "activity"  # per accel batch: peak_g, activity_g, samples, rate_hz (never raw samples)
# Gateway measurement (tag: edge_id): counters (cumulative), gauges, forward latency, sink health.
EDGE_GATEWAY = "edge_gateway"

DEVICE_MEASUREMENTS = (VITALS, DEVICE_STATUS, LOCATION, WEAR, PRESENCE, ACTIVITY)
MEASUREMENTS = (*DEVICE_MEASUREMENTS, EDGE_GATEWAY)
TAG_KEYS = ("device_id", "kind", "edge_id")

FieldValue = bool | int | float | str


@dataclass(frozen=True, slots=True)
class Point:
    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    ts_ms: int


@dataclass(frozen=True, slots=True)
class SinkStats:
    """What a sink did since it started (all counts are points)."""

    written: int = 0
    dropped_full: int = 0  # oldest points dropped because the buffer was full
    dropped_rejected: int = 0  # refused by the store for good (HTTP 4xx, bad data)
    retries: int = 0  # failed attempts that will be retried (5xx, timeouts, connection errors)
    buffered: int = 0


class TelemetrySink(Protocol):
    """The port. ``write`` never blocks and never raises; ``run`` flushes until cancelled."""

    def write(self, points: Iterable[Point]) -> None: ...

    async def run(self) -> None: ...

    async def close(self) -> None:
        """Flush what is buffered (briefly, best effort) and release the connection."""
        ...

    @property
    def stats(self) -> SinkStats: ...


class TelemetryError(EdgeError):
    """The telemetry store failed."""


class TelemetryUnavailable(TelemetryError):
    """Try again later (connection error, timeout, HTTP 5xx/429, database busy)."""


class TelemetryRejected(TelemetryError):
    """The store refused the batch for good (HTTP 4xx other than 408/429): drop it."""


class NullTelemetry:
    """``telemetry=off``: keeps nothing."""

    def write(self, points: Iterable[Point]) -> None:
        pass

    async def run(self) -> None:
        pass

    async def close(self) -> None:
        pass

    @property
    def stats(self) -> SinkStats:
        return SinkStats()
