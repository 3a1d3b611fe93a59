"""What the app keeps on ``app.state.cloud``: built in the lifespan, read through ``deps.py``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from cloud.auth.throttle import LoginThrottle
from cloud.auth.tokens import PasswordHash, SessionSigner
from cloud.db import Database
from cloud.live.hub import LiveHub
from cloud.metrics import CloudMetrics
from cloud.notify.port import Notifier
from cloud.settings import CloudSettings

OPERATOR_USERNAME = "operator"


@dataclass
class CloudState:
    settings: CloudSettings
    db: Database
    hub: LiveHub
    metrics: CloudMetrics
    notifier: Notifier
    signer: SessionSigner
    operator_password: PasswordHash
    now_ms: Callable[[], int]
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)
