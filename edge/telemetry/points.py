"""Uplinks and gateway counters → telemetry :class:`~edge.telemetry.sink.Point` s (pure).

Only what a dashboard needs: vitals, status, location, wear and presence as they came, an accel batch
as a summary (peak |a| and activity level, never the samples), and nothing for alarms (those are
incidents, in the outbox). Tags are ``device_id``, ``kind`` and ``edge_id`` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from numpy.typing import ArrayLike
from prometheus_client import CollectorRegistry

from contracts import AccelBatch, AnyUplink, Location, Presence, Status, Vitals, WearState
from contracts.topics import TELEMETRY_CHANNELS
from contracts.uplink import MODEL_OF
from edge.telemetry.sink import (
    ACTIVITY,
    DEVICE_STATUS,
    EDGE_GATEWAY,
    LOCATION,
    PRESENCE,
    VITALS,
    WEAR,
    FieldValue,
    Point,
    SinkStats,
)

G = 1.0  # |a| of a device at rest, in g


def accel_summary(samples: ArrayLike) -> tuple[float, float]:
    """(peak |a|, activity) in g; activity = mean distance of |a| from 1 g (0 at rest)."""
    a = np.asarray(samples, dtype=np.float64)
    magnitude = np.sqrt(np.einsum("ij,ij->i", a, a))
    return float(magnitude.max()), float(np.abs(magnitude - G).mean())


def points_of(message: AnyUplink, tags: Mapping[str, str], received_ms: int) -> list[Point]:
    """The telemetry of one accepted uplink (empty for alarms and cancels)."""
    if isinstance(message, Vitals):
        fields: dict[str, FieldValue] = {"motion": message.motion}
        if message.hr_bpm is not None:
            fields["hr_bpm"] = message.hr_bpm
        if message.spo2_pct is not None:
            fields["spo2_pct"] = message.spo2_pct
        return [Point(VITALS, tags, fields, message.ts)]
    if isinstance(message, Status):
        fields = {
            "battery_pct": message.battery_pct,
            "charging": message.charging,
            "low_battery": message.low_battery,
        }
        if message.rssi_dbm is not None:
            fields["rssi_dbm"] = message.rssi_dbm
        return [Point(DEVICE_STATUS, tags, fields, message.ts)]
    if isinstance(message, Location):
        fields = {
            "lat": float(message.lat),
            "lon": float(message.lon),
            "accuracy_m": float(message.accuracy_m),
            "source": message.source.value,
        }
        if message.speed_mps is not None:
            fields["speed_mps"] = float(message.speed_mps)
        return [Point(LOCATION, tags, fields, message.ts)]
    if isinstance(message, WearState):
        return [Point(WEAR, tags, {"worn": message.state == "worn"}, message.ts)]
    if isinstance(message, Presence):
        return [Point(PRESENCE, tags, {"online": message.online}, message.ts or received_ms)]
    if isinstance(message, AccelBatch):
        peak, activity = accel_summary(message.array())
        fields = {
            "peak_g": peak,
            "activity_g": activity,
            "samples": len(message.samples),
            "rate_hz": message.rate_hz,
        }
        return [Point(ACTIVITY, tags, fields, message.ts)]
    return []


# Prometheus sample name → field prefix and the label that names the field.
_LABELLED = {
    "anxin_edge_accepted_total": ("accepted_", "type"),
    "anxin_edge_rejected_total": ("rejected_", "reason"),
    "anxin_edge_forwarded_total": ("forwarded_", "result"),
    "anxin_edge_shed_total": ("shed_", "channel"),
}
_PLAIN = {
    "anxin_edge_outbox_pending": "outbox_pending",
    "anxin_edge_ingest_queue_depth": "ingest_queue_depth",
    "anxin_edge_devices_online": "devices_online",
    "anxin_edge_mqtt_connected": "mqtt_connected",
    "anxin_edge_alarm_lane_connected": "alarm_lane_connected",
    "anxin_edge_cloud_up": "cloud_up",
    "anxin_edge_handler_errors_total": "handler_errors",
}
FORWARDED_RESULTS = ("delivered", "duplicate", "rejected", "retry")


def gateway_fields(metrics: CollectorRegistry) -> dict[str, FieldValue]:
    """Counters (cumulative, as integers) and gauges of the gateway, one pass over its registry."""
    fields: dict[str, FieldValue] = {f"accepted_{t}": 0 for t in MODEL_OF}
    fields |= {f"forwarded_{r}": 0 for r in FORWARDED_RESULTS}
    fields |= {f"shed_{c.value}": 0 for c in TELEMETRY_CHANNELS}
    received = 0
    for metric in metrics.collect():
        for sample in metric.samples:
            if sample.name in _LABELLED:
                prefix, label = _LABELLED[sample.name]
                fields[prefix + sample.labels.get(label, "other")] = int(sample.value)
            elif sample.name in _PLAIN:
                fields[_PLAIN[sample.name]] = int(sample.value)
            elif sample.name == "anxin_edge_received_total":
                received += int(sample.value)
            elif sample.name == "anxin_edge_ingest_lag_seconds":
                fields["ingest_lag_s"] = float(sample.value)
    fields["received"] = received
    return fields


def sink_fields(stats: SinkStats) -> dict[str, FieldValue]:
    return {
        "telemetry_written": stats.written,
        "telemetry_dropped": stats.dropped_full + stats.dropped_rejected,
        "telemetry_retries": stats.retries,
        "telemetry_buffered": stats.buffered,
    }


def forward_fields(latencies_ms: Iterable[float], rtts_ms: Iterable[float]) -> dict[str, FieldValue]:
    """Forward latency (edge receipt → cloud confirmed) and intake round trip since the last sample."""
    lat, rtt = list(latencies_ms), list(rtts_ms)
    fields: dict[str, FieldValue] = {"forward_count": len(lat)}
    if lat:
        fields["forward_ms_mean"] = sum(lat) / len(lat)
        fields["forward_ms_max"] = float(max(lat))
    if rtt:
        fields["intake_rtt_ms_mean"] = sum(rtt) / len(rtt)
    return fields


def gateway_point(edge_id: str, ts_ms: int, *parts: Mapping[str, FieldValue]) -> Point:
    fields: dict[str, FieldValue] = {}
    for part in parts:
        fields |= part
    return Point(EDGE_GATEWAY, {"edge_id": edge_id}, fields, ts_ms)
