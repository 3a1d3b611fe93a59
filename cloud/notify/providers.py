"""Build the notifier the settings ask for: the console sink, Twilio, Aliyun, or Twilio with Aliyun for
the routed prefixes (``+86``). Also the click-to-call dialer (Twilio, or the console's stand-in)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from cloud.db import Database
from cloud.live.hub import LiveHub
from cloud.notify.aliyun import AliyunSmsNotifier
from cloud.notify.console import ConsoleNotifier
from cloud.notify.port import Dialer, Notifier
from cloud.notify.router import RoutingNotifier
from cloud.notify.twilio import TwilioNotifier
from cloud.settings import CloudSettings


@dataclass(frozen=True, slots=True)
class Providers:
    notifier: Notifier
    dialer: Dialer | None


def _aliyun(settings: CloudSettings) -> AliyunSmsNotifier:
    return AliyunSmsNotifier(
        access_key_id=settings.aliyun_access_key_id,
        access_key_secret=settings.aliyun_access_key_secret.get_secret_value(),
        sign_name=settings.aliyun_sign_name,
        template_code=settings.aliyun_template_code,
        template_param=settings.aliyun_template_param,
        endpoint=settings.aliyun_endpoint,
        timeout_s=settings.notify_timeout_s,
    )


def build_providers(
    settings: CloudSettings,
    db: Database,
    hub: LiveHub,
    now_ms: Callable[[], int],
    twilio_transport: httpx.AsyncBaseTransport | None = None,
) -> Providers:
    if settings.notifier == "aliyun":
        return Providers(notifier=_aliyun(settings), dialer=None)
    if settings.notifier == "twilio":
        twilio = TwilioNotifier(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            sender=settings.twilio_from,
            caller_id=settings.twilio_caller_id,
            public_url=settings.public_url,
            base_url=settings.twilio_base_url,
            timeout_s=settings.notify_timeout_s,
            transport=twilio_transport,
        )
        routed = [prefix for prefix, provider in settings.sms_routes.items() if provider == "aliyun"]
        if not settings.aliyun_configured or not routed:
            return Providers(notifier=twilio, dialer=twilio)
        aliyun = _aliyun(settings)
        return Providers(
            notifier=RoutingNotifier(default=twilio, sms_routes=dict.fromkeys(routed, aliyun)), dialer=twilio
        )
    console = ConsoleNotifier(now_ms=now_ms, sessions=db.sessions, hub=hub)
    return Providers(notifier=console, dialer=console)
