"""Staff accounts, their street scope and their server-side sessions."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base, EpochMs


class StaffAccount(Base):
    """An operator, supervisor or admin. ``all_streets`` or the rows of ``staff_streets`` are the scope."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # operator | supervisor | admin
    all_streets: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[int] = mapped_column(EpochMs)
    updated_at: Mapped[int] = mapped_column(EpochMs)


class StaffStreet(Base):
    __tablename__ = "staff_streets"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id"), primary_key=True)


class StaffSession(Base):
    """A login. The cookie carries a random token; only its SHA-256 is stored. Logout revokes the row."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[int] = mapped_column(EpochMs)
    expires_at: Mapped[int] = mapped_column(EpochMs)
    revoked_at: Mapped[int | None] = mapped_column(EpochMs, default=None)
