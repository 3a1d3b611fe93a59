"""Delivery status of a sent SMS, as the provider reports it later (Twilio status callbacks). Pure.

Callbacks can arrive twice or out of order (``sent`` after ``delivered``): a status only ever moves
forward, and ``delivered`` / ``undelivered`` / ``failed`` are final.
"""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


# Twilio's names for the steps before "sent" map onto "queued".
PROVIDER_STATUS: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
}

# A ladder call's status (Twilio's CallStatus). A call that ends without a key pressed is "undelivered"
# however it ended (``completed`` = answered, maybe by voicemail, but nobody pressed 1 or 2): the ladder
# moves on. A key pressed marks the call ``delivered`` first, and that is final.
CALL_STATUS: dict[str, DeliveryStatus] = {
    "queued": DeliveryStatus.QUEUED,
    "initiated": DeliveryStatus.QUEUED,
    "ringing": DeliveryStatus.QUEUED,
    "in-progress": DeliveryStatus.SENT,
    "completed": DeliveryStatus.UNDELIVERED,
    "busy": DeliveryStatus.UNDELIVERED,
    "no-answer": DeliveryStatus.UNDELIVERED,
    "canceled": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
}

_RANK = {
    DeliveryStatus.QUEUED: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.UNDELIVERED: 3,
    DeliveryStatus.FAILED: 3,
}
FAILED_STATUSES = frozenset({DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED})


def parse_status(value: str) -> DeliveryStatus | None:
    """The provider's status word, or None when it is not one we track."""
    return PROVIDER_STATUS.get(value.strip().lower())


def parse_call_status(value: str) -> DeliveryStatus | None:
    return CALL_STATUS.get(value.strip().lower())


def advance(current: str | None, reported: DeliveryStatus) -> DeliveryStatus | None:
    """The new status if ``reported`` moves the notification forward, else None (repeat/late/final)."""
    if current is None:
        return reported
    try:
        now = DeliveryStatus(current)
    except ValueError:
        return reported
    return reported if _RANK[reported] > _RANK[now] else None


def is_failure(status: DeliveryStatus) -> bool:
    return status in FAILED_STATUSES
