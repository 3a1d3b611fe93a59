"""Persisted escalations: one row per incident, and its timers (they survive restarts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base, EpochMs

PENDING, FIRED, CANCELLED = "pending", "fired", "cancelled"
STEP, LADDER = "step", "ladder"


class EscalationRecord(Base):
    """The escalation of one incident: its policy (as decided when it opened) and its guardian ladder."""

    __tablename__ = "escalations"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    opened_at: Mapped[int] = mapped_column(EpochMs)
    stopped_at: Mapped[int | None] = mapped_column(EpochMs, default=None)
    stopped_by: Mapped[str | None] = mapped_column(String(64), default=None)
    # the ladder's rungs (contact key, role, label, language, phone, channel); never sent to a browser
    ladder: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    ladder_index: Mapped[int] = mapped_column(Integer, default=-1)
    ladder_status: Mapped[str | None] = mapped_column(String(16), default=None)
    ladder_notification_id: Mapped[int | None] = mapped_column(Integer, default=None)  # current rung's


class EscalationTimer(Base):
    """One scheduled step: a policy step (``kind=step``) or a ladder rung's answer wait (``kind=ladder``).

    ``pending`` becomes ``fired`` in the same transaction as the step's effects (exactly once), or
    ``cancelled`` when a human takes the incident.
    """

    __tablename__ = "escalation_timers"
    __table_args__ = (Index("ix_escalation_timers_state_due_at", "state", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    step: Mapped[int] = mapped_column(Integer)  # policy step index, or ladder rung index
    action: Mapped[str] = mapped_column(String(32))
    round: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[int] = mapped_column(EpochMs)
    state: Mapped[str] = mapped_column(String(10), default=PENDING)
    fired_at: Mapped[int | None] = mapped_column(EpochMs, default=None)
    late_ms: Mapped[int | None] = mapped_column(Integer, default=None)
