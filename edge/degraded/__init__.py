"""Degraded mode: the edge texts a person's guardians itself when the center has not confirmed a P1
alarm in time (``degraded_after_s``), and tells the center so it does not text them again.

``mode.py`` the loop, ``policy.py`` its pure decisions, ``records.py`` what was texted (edge database),
``texts.py`` the SMS, ``notifier.py`` the port, ``console.py`` / ``twilio.py`` the adapters.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from edge.degraded.console import ConsoleNotifier
from edge.degraded.notifier import Notifier
from edge.settings import EdgeSettings


def make_notifier(
    settings: EdgeSettings, clock_ms: Callable[[], int], *, transport: httpx.AsyncBaseTransport | None = None
) -> Notifier | None:
    """The notifier ``settings`` ask for (None: ``notifier=off``); ``transport`` replaces Twilio's socket."""
    if settings.notifier == "off":
        return None
    if settings.notifier == "twilio":
        from edge.degraded.twilio import TwilioNotifier

        assert settings.twilio_auth_token is not None  # the settings refuse twilio without one
        return TwilioNotifier(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            sender=settings.twilio_from,
            timeout_s=settings.http_timeout_s,
            transport=transport,
        )
    return ConsoleNotifier(clock_ms=clock_ms)
