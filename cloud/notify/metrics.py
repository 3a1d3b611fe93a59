"""Counters of guardian replies and provider callbacks, registered on the app's metrics registry."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from prometheus_client import CollectorRegistry, Counter

from cloud.deps import StateDep


@dataclass(frozen=True, slots=True)
class NotifyMetrics:
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


def notify_metrics(request: Request, state: StateDep) -> NotifyMetrics:
    """The app's notify counters, created on first use (one set per app, like ``CloudMetrics``)."""
    metrics: NotifyMetrics | None = getattr(request.app.state, "notify_metrics", None)
    if metrics is None:
        metrics = NotifyMetrics.create(state.metrics.registry)
        request.app.state.notify_metrics = metrics
    return metrics
