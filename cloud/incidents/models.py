"""Incidents (their timelines are in ``cloud.timeline``).

``fusion_key`` holds the incident kind while the incident is open and NULL once it is closed; the
unique constraint on ``(subject_id, fusion_key)`` makes "one open incident per person and kind" hold
even for concurrent writers (NULLs never collide).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base, EpochMs

# How an incident row is locked for a change: FOR NO KEY UPDATE on PostgreSQL. Its key never changes, so
# rows that reference it (timeline, notifications, escalation timers) can still be inserted meanwhile —
# a plain FOR UPDATE would make those inserts' foreign-key checks wait, and deadlock with the scheduler.
ROW_LOCK = {"key_share": True}


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (UniqueConstraint("subject_id", "fusion_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16), index=True)
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    fusion_key: Mapped[str | None] = mapped_column(String(32), default=None)
    device_id: Mapped[str] = mapped_column(String(64))
    edge_id: Mapped[str] = mapped_column(String(64))
    origin_key: Mapped[str] = mapped_column(String(140))
    origin_seq: Mapped[int] = mapped_column(BigInteger)
    device_ts: Mapped[int] = mapped_column(EpochMs)
    edge_ts: Mapped[int] = mapped_column(EpochMs)
    cloud_ts: Mapped[int] = mapped_column(EpochMs, index=True)
    acknowledged_at: Mapped[int | None] = mapped_column(EpochMs, default=None)
    dispatched_at: Mapped[int | None] = mapped_column(EpochMs, default=None)
    resolved_at: Mapped[int | None] = mapped_column(EpochMs, default=None)
    updated_at: Mapped[int] = mapped_column(EpochMs)
    acknowledged_by: Mapped[str | None] = mapped_column(String(32), default=None)
    responder: Mapped[str | None] = mapped_column(String(64), default=None)
    eta_min: Mapped[int | None] = mapped_column(Integer, default=None)
    event_count: Mapped[int] = mapped_column(Integer, default=1)
    last_lat: Mapped[float | None] = mapped_column(Float, default=None)
    last_lon: Mapped[float | None] = mapped_column(Float, default=None)
    last_accuracy_m: Mapped[float | None] = mapped_column(Float, default=None)
    last_fix_source: Mapped[str | None] = mapped_column(String(8), default=None)
    last_fix_at: Mapped[int | None] = mapped_column(EpochMs, default=None)
    origin_kind: Mapped[str | None] = mapped_column(String(32), default=None)  # event kind that opened it
    last_event_kind: Mapped[str | None] = mapped_column(String(32), default=None)  # latest joined event
    guardian_answered_at: Mapped[int | None] = mapped_column(EpochMs, default=None)  # first guardian ack
    owner: Mapped[str | None] = mapped_column(String(32), default=None, index=True)  # who has it now
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # optimistic check
    drill: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # out of figures
