"""The notifier port: what the outbox worker needs from a provider, per channel.

Channels: ``sms`` (:meth:`Notifier.send_sms`) and ``voice`` (:meth:`Notifier.call`: a call that reads
the text and takes a keypad answer, 1 = going, 2 = cannot). The guardian ladder names the channel of
each step; an adapter (console, Twilio, a mainland SMS provider) plugs in without the ladder knowing.
"""

from __future__ import annotations

from collections.abc import Mapping
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

    async def call(self, *, to: str, text: str) -> str:
        """Place a voice call that reads ``text`` and gathers one keypad digit; returns the call id.

        Raise ``NotifierError(retryable=False)`` when the provider has no voice channel: the ladder
        moves on to its next step.
        """
        ...

    async def aclose(self) -> None: ...


class Dialer(Protocol):
    """Click-to-call: ring the operator's phone, then connect it to a target the provider's callback to
    the cloud resolves from ``params`` (so the full number is never sent to a browser)."""

    async def bridge(self, *, operator_phone: str, params: Mapping[str, str]) -> str:
        """Place the call; returns its id. ``NotifierError`` when it cannot be placed."""
        ...


VOICE_UNAVAILABLE = "this notifier has no voice channel"
