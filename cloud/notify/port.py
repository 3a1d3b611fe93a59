"""The notifier port: what the outbox worker needs from an SMS provider."""

from __future__ import annotations

from typing import Protocol


class NotifierError(Exception):
    """Sending failed. ``retryable`` says whether trying again later may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Notifier(Protocol):
    async def send_sms(self, *, to: str, body: str) -> str:
        """Send one SMS to an E.164 number; returns the provider's message id."""
        ...

    async def aclose(self) -> None: ...
