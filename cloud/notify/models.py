"""Notification outbox (SMS to guardians) and the console notifier's message log."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base, EpochMs


class Notification(Base):
    """One SMS to send. The outbox worker sends ``queued`` rows whose ``next_attempt_at`` has come."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id"), default=None)
    to_phone: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), index=True)  # queued | sent | failed | merged | dropped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[int] = mapped_column(EpochMs)
    created_at: Mapped[int] = mapped_column(EpochMs)
    sent_at: Mapped[int | None] = mapped_column(EpochMs, default=None)
    provider_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    # What the provider reported afterwards (status callbacks): queued|sent|delivered|undelivered|failed
    delivery_status: Mapped[str | None] = mapped_column(String(16), default=None)
    delivery_updated_at: Mapped[int | None] = mapped_column(EpochMs, default=None)
    # The Notifier channel (sms | voice), what the message is (alert | ladder | followup | summary) and
    # whom it reaches ("guardian:12", "worker:3"): the ladder's "already reached" check reads these.
    channel: Mapped[str] = mapped_column(String(8), default="sms", server_default="sms")
    kind: Mapped[str] = mapped_column(String(16), default="alert", server_default="alert")
    contact: Mapped[str | None] = mapped_column(String(32), default=None)


class GuardianReply(Base):
    """An SMS answer from a known guardian, matched to an open incident. ``provider_message_id``
    (Twilio's MessageSid) makes handling idempotent. Unknown senders are counted, never stored."""

    __tablename__ = "guardian_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_message_id: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # twilio | console
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    result: Mapped[str] = mapped_column(String(16))  # acknowledged | message
    body: Mapped[str] = mapped_column(Text)  # length-capped
    received_at: Mapped[int] = mapped_column(EpochMs)


class ConsoleSms(Base):
    """Every message the console notifier "sent": the dev phone page reads these."""

    __tablename__ = "console_sms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    to_phone: Mapped[str] = mapped_column(String(16), index=True)
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[int] = mapped_column(EpochMs)
