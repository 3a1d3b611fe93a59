"""The default notifier: "sends" by keeping the message; the gateway's dev page shows them.

Every message is kept in memory (the last ``keep`` of them) and recorded in the edge database by degraded
mode (``edge_sms``), so ``GET /dev/sms`` on the gateway's metrics port lists them — with the number
masked. The log line carries the masked number and the message id only.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from edge.degraded.notifier import E164_RE, NotifierError, mask_phone

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KeptSms:
    message_id: str
    to: str
    body: str
    sent_ms: int


class ConsoleNotifier:
    name = "console"

    def __init__(self, *, clock_ms: Callable[[], int], keep: int = 1000) -> None:
        self._clock_ms = clock_ms
        self.messages: deque[KeptSms] = deque(maxlen=keep)

    async def send_sms(self, *, to: str, body: str) -> str:
        if not E164_RE.match(to):
            raise NotifierError("recipient is not an E.164 number", retryable=False)
        sms = KeptSms(
            message_id=f"edge-console-{uuid.uuid4().hex[:16]}", to=to, body=body, sent_ms=self._clock_ms()
        )
        self.messages.append(sms)
        log.info("edge_sms.sent provider=console to=%s id=%s", mask_phone(to), sms.message_id)
        return sms.message_id

    async def aclose(self) -> None:
        return None
