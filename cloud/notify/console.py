"""The default notifier: "sends" by keeping each message in memory and in the ``console_sms`` table.

The dev phone page (``GET /api/v1/dev/sms``) shows them, and each one is published on the live
stream as ``sms.sent`` with the number masked (``+86 136****7230``) and the guardian id as the stable
key to group by: a full number never goes to a browser. Logs carry only a masked number.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cloud.db import SessionFactory
from cloud.live.hub import OPERATORS, LiveEvent, LiveHub
from cloud.notify.models import ConsoleSms
from cloud.notify.port import NotifierError
from cloud.notify.service import guardian_id_of_phone, street_of_phone
from cloud.phones import E164_RE, display_phone, mask_phone

log = logging.getLogger(__name__)

VOICE_MARK = "[语音来电 voice call] "


@dataclass(frozen=True, slots=True)
class SentSms:
    message_id: str
    to: str
    body: str
    sent_at: int
    guardian_id: int | None = None


class ConsoleNotifier:
    def __init__(
        self,
        *,
        now_ms: Callable[[], int],
        sessions: SessionFactory | None = None,
        hub: LiveHub | None = None,
    ) -> None:
        self._now_ms = now_ms
        self._sessions = sessions
        self._hub = hub
        self.messages: list[SentSms] = []
        self.bridges: list[tuple[str, dict[str, str]]] = []

    async def send_sms(self, *, to: str, body: str) -> str:
        if not E164_RE.match(to):
            raise NotifierError("recipient is not an E.164 number", retryable=False)
        guardian_id: int | None = None
        street_id: int | None = None
        message_id = f"console-{uuid.uuid4().hex[:16]}"
        sent_at = self._now_ms()
        if self._sessions is not None:
            async with self._sessions() as session:
                guardian_id = await guardian_id_of_phone(session=session, phone=to)
                street_id = await street_of_phone(session=session, phone=to)
                session.add(ConsoleSms(message_id=message_id, to_phone=to, body=body, sent_at=sent_at))
                await session.commit()
        sms = SentSms(message_id=message_id, to=to, body=body, sent_at=sent_at, guardian_id=guardian_id)
        self.messages.append(sms)
        log.info("sms.sent provider=console to=%s id=%s", mask_phone(to), sms.message_id)
        if self._hub is not None:
            self._hub.publish(
                OPERATORS,
                LiveEvent(
                    name="sms.sent",
                    data={
                        "id": sms.message_id,
                        "guardian_id": guardian_id,
                        "street_id": street_id,  # the live stream shows it only to staff of that street
                        "to_masked": display_phone(to),
                        "body": body,
                        "sent_at": sms.sent_at,
                    },
                ),
            )
        return sms.message_id

    async def call(self, *, to: str, text: str) -> str:
        """A "voice call": kept like an SMS, marked as a call, so the dev phone page shows it."""
        return await self.send_sms(to=to, body=VOICE_MARK + text)

    async def bridge(self, *, operator_phone: str, params: Mapping[str, str]) -> str:
        """Click-to-call without a provider: nothing rings; the call is kept (and shown as placed)."""
        if not E164_RE.match(operator_phone):
            raise NotifierError("the operator's phone is not an E.164 number", retryable=False)
        call_id = f"console-call-{uuid.uuid4().hex[:12]}"
        self.bridges.append((call_id, dict(params)))
        log.info("call.bridge_placed provider=console operator=%s id=%s", mask_phone(operator_phone), call_id)
        return call_id

    async def aclose(self) -> None:
        return None
