"""How long the center keeps what (pure: time passed in).

Only *closed* incidents expire (resolved, cancelled, false alarm), counted from their last change; an
open incident is kept however old it is. Telemetry is not kept at the center's database at all: it
lives in InfluxDB, whose bucket retention (30 days by default) expires it, and in the gateways' own
SQLite telemetry (``ANXIN_EDGE_TELEMETRY_RETENTION_DAYS``).
"""

from __future__ import annotations

from dataclasses import dataclass

from cloud.incidents.lifecycle import CLOSED_STATUSES

DAY_MS = 86_400_000
DEFAULT_INCIDENT_DAYS = 365.0
DEFAULT_TELEMETRY_DAYS = 30.0


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    incident_days: float = DEFAULT_INCIDENT_DAYS

    def __post_init__(self) -> None:
        if self.incident_days <= 0:
            raise ValueError("incident retention must be positive")

    def incident_cutoff_ms(self, now_ms: int) -> int:
        """Closed incidents last changed before this instant are due."""
        return now_ms - round(self.incident_days * DAY_MS)

    def incident_expired(self, *, status: str, updated_at_ms: int, now_ms: int) -> bool:
        return status in CLOSED_STATUSES and updated_at_ms < self.incident_cutoff_ms(now_ms)
