"""Prometheus metrics of one gateway, in its own registry (several gateways can share a process)."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

log = logging.getLogger(__name__)

REJECT_REASONS = (
    "bad_topic",
    "too_large",
    "bad_json",
    "bad_version",
    "invalid",
    "device_mismatch",
    "unknown_device",
    "replayed",  # a copy of a message already seen, or too old to tell (never an SOS or fall)
    "clock_ahead",  # quarantined: device clock too far ahead of the gateway's (edge.ingest.sequence)
    "boot_jump",  # quarantined: boot number jumped too far
    "seq_jump",  # quarantined: seq jumped too far, not confirmed by a second message
    "foreign_sensor",  # a home hub naming a sensor not registered to it (another home's)
)

_FAST_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class EdgeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.received = Counter(
            "anxin_edge_received", "MQTT messages handed to the gateway", ["channel"], registry=r
        )
        self.accepted = Counter("anxin_edge_accepted", "uplinks that passed validation", ["type"], registry=r)
        self.rejected = Counter("anxin_edge_rejected", "uplinks dropped, by reason", ["reason"], registry=r)
        for reason in REJECT_REASONS:
            self.rejected.labels(reason=reason)
        self.unassigned_alarms = Counter(
            "anxin_edge_unassigned_alarms",
            "SOS/fall from devices missing from the registry snapshot (stored, acked, sent unassigned)",
            registry=r,
        )
        self.implausible_alarms = Counter(
            "anxin_edge_implausible_alarms",
            "SOS/fall the sequence window would quarantine: accepted all the same, moved nothing",
            ["reason"],
            registry=r,
        )
        self.events = Counter("anxin_edge_events", "events written to the outbox", ["kind"], registry=r)
        self.duplicate_events = Counter(
            "anxin_edge_duplicate_events", "events whose key was already in the outbox", registry=r
        )
        self.handler_errors = Counter(
            "anxin_edge_handler_errors", "messages whose handling raised (logged, loop goes on)", registry=r
        )
        self.forwarded = Counter(
            "anxin_edge_forwarded", "outbox sends to the cloud, by result", ["result"], registry=r
        )
        self.outbox_pending = Gauge("anxin_edge_outbox_pending", "events waiting for the cloud", registry=r)
        self.outbox_write_seconds = Histogram(
            "anxin_edge_outbox_write_seconds",
            "durable outbox insert (commit + fsync)",
            registry=r,
            buckets=_FAST_BUCKETS,
        )
        self.alarm_ack_seconds = Histogram(
            "anxin_edge_alarm_ack_seconds",
            "from uplink receipt to the AlarmReceived downlink being handed to MQTT",
            registry=r,
            buckets=_FAST_BUCKETS,
        )
        self.downlinks = Counter("anxin_edge_downlinks", "downlinks published", ["type"], registry=r)
        self.commands = Counter("anxin_edge_commands", "cloud commands, by result", ["result"], registry=r)
        self.queue_depth = Gauge(
            "anxin_edge_ingest_queue_depth", "messages waiting in the ingest queue", registry=r
        )
        self.mqtt_connected = Gauge(
            "anxin_edge_mqtt_connected", "1 while the telemetry lane is connected to the broker", registry=r
        )
        self.alarm_lane_connected = Gauge(
            "anxin_edge_alarm_lane_connected", "1 while the alarm lane is connected to the broker", registry=r
        )
        self.shed = Counter(
            "anxin_edge_shed",
            "telemetry dropped because the gateway was behind, by channel (never alarms)",
            ["channel"],
            registry=r,
        )
        self.subscribed_devices = Gauge(
            "anxin_edge_subscribed_devices",
            "devices whose telemetry this worker subscribes to by name (--workers > 1 with a registry"
            " snapshot); 0 while it takes the site-wide filters",
            registry=r,
        )
        self.partition_skipped = Counter(
            "anxin_edge_partition_skipped",
            "uplinks of devices another gateway worker owns (--workers), received and left to it",
            registry=r,
        )
        self.ingest_lag = Gauge(
            "anxin_edge_ingest_lag_seconds", "wait of the oldest telemetry message in the queue", registry=r
        )
        self.cloud_up = Gauge(
            "anxin_edge_cloud_up",
            "1 while the cloud answers (the last call or health check succeeded)",
            registry=r,
        )
        self.registry_devices = Gauge(
            "anxin_edge_registry_devices", "devices in the registry snapshot", registry=r
        )
        self.devices_online = Gauge(
            "anxin_edge_devices_online", "devices whose presence is online", registry=r
        )
        self.guardian_sms = Counter(
            "anxin_edge_guardian_sms",
            "SMS the edge sent guardians itself (degraded mode), by result: sent, retry, failed",
            ["result"],
            registry=r,
        )
        self.degraded_alarms = Counter(
            "anxin_edge_degraded_alarms",
            "alarms the cloud had not confirmed in time, by outcome:"
            " notified, failed, no_guardians, cancelled",
            ["result"],
            registry=r,
        )
        self.detector_errors = Counter(
            "anxin_edge_detector_errors", "detector calls that raised", ["detector"], registry=r
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def bearer_matches(headers: list[bytes], token: str | None) -> bool:
    """Whether the request headers carry ``Authorization: Bearer <token>`` (always True without a token)."""
    if token is None:
        return True
    for line in headers:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"authorization":
            scheme, _, presented = value.strip().partition(b" ")
            return scheme.lower() == b"bearer" and hmac.compare_digest(presented.strip(), token.encode())
    return False


async def serve_metrics(
    metrics: EdgeMetrics,
    host: str,
    port: int,
    ready: asyncio.Event,
    token: str | None = None,
    *,
    dev_sms: Callable[[], Awaitable[bytes]] | None = None,
) -> None:
    """A tiny HTTP server answering ``GET /metrics`` (and ``GET /dev/sms`` — the SMS degraded mode sent,
    numbers masked — when ``dev_sms`` is given: the console notifier); both to ``Bearer <token>`` only,
    when a token is set; runs until cancelled."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            headers: list[bytes] = []
            async with asyncio.timeout(5):
                request_line = await reader.readline()
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b"") and len(headers) < 100:
                    headers.append(line)
            parts = request_line.split()
            extra = b""
            path = parts[1].split(b"?")[0] if len(parts) >= 2 and parts[0] == b"GET" else b""
            if path != b"/metrics" and (path != b"/dev/sms" or dev_sms is None):
                body, status, ctype = b"not found\n", b"404 Not Found", b"text/plain"
            elif not bearer_matches(headers, token):
                body, status, ctype = b"send the bearer token\n", b"401 Unauthorized", b"text/plain"
                extra = b"\r\nWWW-Authenticate: Bearer"
            elif path == b"/dev/sms" and dev_sms is not None:
                body, status, ctype = await dev_sms(), b"200 OK", b"application/json; charset=utf-8"
            else:
                body, status, ctype = metrics.exposition(), b"200 OK", CONTENT_TYPE_LATEST.encode()
            writer.write(
                b"HTTP/1.1 "
                + status
                + extra
                + b"\r\nContent-Type: "
                + ctype
                + b"\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            async with asyncio.timeout(5):
                await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host, port)
    log.info("metrics.listening port=%d", port)
    ready.set()
    async with server:
        await server.serve_forever()
