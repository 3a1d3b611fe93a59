"""Response plans (per resident, kept at the center only) and the audit of every reveal."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base, EpochMs


class ResponsePlanRecord(Base):
    """A subject's response plan (``cloud.plans.schemas.ResponsePlan`` as JSON). Unlike the care plan it
    never goes to an edge: it holds medical notes and the people to call."""

    __tablename__ = "response_plans"

    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    plan: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[int] = mapped_column(EpochMs)
    updated_by: Mapped[str] = mapped_column(String(32))


class RevealRecord(Base):
    """Who saw which personal field of whom, and when (an explicit reveal on the console)."""

    __tablename__ = "reveal_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[int] = mapped_column(EpochMs, index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    username: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), default=None)
    field: Mapped[str] = mapped_column(String(48))  # e.g. address, medical_notes, phone:guardian:12
