"""Drills: a device put in drill mode for a while; its next alarm runs end to end, marked as a drill."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base, EpochMs


class DrillRecord(Base):
    __tablename__ = "drills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.device_id"), index=True)
    started_by: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[int] = mapped_column(EpochMs)
    expires_at: Mapped[int] = mapped_column(EpochMs)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), default=None)
