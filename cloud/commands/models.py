"""Commands queued for an edge gateway to deliver to a device (contracts.EdgeCommand)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base, EpochMs


class CommandRecord(Base):
    __tablename__ = "edge_commands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    edge_id: Mapped[str] = mapped_column(String(64), index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), default=None)
    downlink: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(EpochMs)
    acked_at: Mapped[int | None] = mapped_column(EpochMs, default=None, index=True)
