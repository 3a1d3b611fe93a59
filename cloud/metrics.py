"""Prometheus metrics of one app instance (a registry per app, so tests can run several apps)."""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True, slots=True)
class NotifyMetrics:
    """Guardian replies and provider callbacks."""

    replies: Counter
    status_callbacks: Counter
    webhooks_rejected: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> NotifyMetrics:
        return cls(
            replies=Counter(
                "anxin_cloud_guardian_replies",
                "Guardian SMS answers by result",
                ["result"],
                registry=registry,
            ),
            status_callbacks=Counter(
                "anxin_cloud_sms_status_callbacks",
                "Provider delivery status callbacks by result",
                ["result"],
                registry=registry,
            ),
            webhooks_rejected=Counter(
                "anxin_cloud_webhooks_rejected", "Provider webhooks refused", ["reason"], registry=registry
            ),
        )


@dataclass
class CloudMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.intake_events = Counter(
            "anxin_cloud_intake_events", "Edge events received", ["result"], registry=r
        )
        self.intake_refused = Counter(
            "anxin_cloud_intake_refused",
            "Edge events refused and not stored, by reason (wrong_gateway, edge_mismatch, key_not_derived,"
            " unknown_device)",
            ["reason"],
            registry=r,
        )
        self.incidents_created = Counter(
            "anxin_cloud_incidents_created", "Incidents opened", ["kind", "severity"], registry=r
        )
        self.incident_transitions = Counter(
            "anxin_cloud_incident_transitions", "Incident status changes", ["status"], registry=r
        )
        self.edge_to_cloud_seconds = Histogram(
            "anxin_cloud_edge_to_cloud_seconds",
            "Time from edge receipt to cloud receipt of an event",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
            registry=r,
        )
        self.notifications = Counter("anxin_cloud_notifications", "SMS send attempts", ["result"], registry=r)
        self.stream_clients = Gauge("anxin_cloud_stream_clients", "Open SSE streams", ["stream"], registry=r)
        self.auth_failures = Counter(
            "anxin_cloud_auth_failures", "Rejected credentials", ["kind"], registry=r
        )
        self.notify = NotifyMetrics.create(r)
        self.live_relay = Counter(
            "anxin_cloud_live_relay_events",
            "Live events between center workers (PostgreSQL NOTIFY) by result: sent, received, dropped,"
            " reconnected",
            ["result"],
            registry=r,
        )
        self.live_relay_connected = Gauge(
            "anxin_cloud_live_relay_connected",
            "1 while this worker listens for the other workers' live events (PostgreSQL only)",
            registry=r,
        )
        self.escalation_late_steps = Gauge(
            "anxin_cloud_escalation_late_steps",
            "Escalation steps overdue by more than the grace (auditor: the scheduler is behind)",
            registry=r,
        )
        self.escalation_lateness = Histogram(
            "anxin_cloud_escalation_step_lateness_seconds",
            "How late escalation steps fired after their due time",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=r,
        )


def scrape_allowed(*, token: str | None, authorization: str | None, client_host: str | None) -> bool:
    """Whether a ``GET /metrics`` may be answered: with a configured token only to ``Bearer <token>``
    (constant-time); without one only to a loopback client (the operator on the machine itself)."""
    if token is None:
        try:
            return client_host is not None and ipaddress.ip_address(client_host).is_loopback
        except ValueError:
            return False
    scheme, _, presented = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())
