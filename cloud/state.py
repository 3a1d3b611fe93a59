"""What the app keeps on ``app.state.cloud``: built in the lifespan, read through ``deps.py``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from cloud.auth.passwords import Passwords
from cloud.auth.throttle import LoginGuard
from cloud.auth.tokens import SessionSigner
from cloud.db import Database
from cloud.escalation.policy import DEFAULT_POLICIES, Policy
from cloud.live.hub import LiveHub
from cloud.metrics import CloudMetrics
from cloud.notify.port import Dialer, Notifier
from cloud.settings import CloudSettings
from contracts.intake import Severity


@dataclass
class CloudState:
    settings: CloudSettings
    db: Database
    hub: LiveHub
    metrics: CloudMetrics
    notifier: Notifier
    signer: SessionSigner
    passwords: Passwords
    now_ms: Callable[[], int]
    policies: dict[Severity, Policy] = field(default_factory=lambda: dict(DEFAULT_POLICIES))
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    escalation_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    login_guard: LoginGuard = field(default_factory=LoginGuard)
    dialer: Dialer | None = None  # click-to-call (Twilio Voice, or the console's stand-in)
