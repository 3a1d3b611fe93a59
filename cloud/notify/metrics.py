"""The notify counters as a route dependency (they live in :class:`cloud.metrics.CloudMetrics`)."""

from __future__ import annotations

from cloud.deps import StateDep
from cloud.metrics import NotifyMetrics


def notify_metrics(state: StateDep) -> NotifyMetrics:
    return state.metrics.notify
