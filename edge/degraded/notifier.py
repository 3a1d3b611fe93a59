"""The edge's notifier port: what degraded mode needs from an SMS provider.

Adapters: :class:`~edge.degraded.console.ConsoleNotifier` (the default: keeps every message, logs
without personal data) and :class:`~edge.degraded.twilio.TwilioNotifier` (the ``twilio`` SDK).
"""

from __future__ import annotations

import re
from typing import Protocol

E164_RE = re.compile(r"^\+[1-9]\d{7,14}$")


class NotifierError(Exception):
    """Sending failed. ``retryable`` says whether trying again later may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Notifier(Protocol):
    name: str

    async def send_sms(self, *, to: str, body: str) -> str:
        """Send one SMS to an E.164 number; returns the provider's message id."""
        ...

    async def aclose(self) -> None: ...


def mask_phone(phone: str) -> str:
    """``+8613800001234`` -> ``+86138****1234``: the most a log line or a dev page may show."""
    if len(phone) <= 8:
        return "****"
    return phone[:6] + "****" + phone[-4:]
