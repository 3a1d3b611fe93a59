"""Every event received from an edge, stored exactly once by its key (device id + boot + seq).

An unassigned alarm (a device the reporting gateway or the center does not have) is stored under
``<edge id>/<key>``: a gateway that does not serve a device cannot take that device's own keys.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base, EpochMs


class EventRecord(Base):
    __tablename__ = "edge_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(220), unique=True)
    edge_id: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    boot: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(2))
    device_ts: Mapped[int] = mapped_column(EpochMs)
    edge_ts: Mapped[int] = mapped_column(EpochMs)
    cloud_ts: Mapped[int] = mapped_column(EpochMs)
    ref_key: Mapped[str | None] = mapped_column(String(140), default=None)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True, default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
