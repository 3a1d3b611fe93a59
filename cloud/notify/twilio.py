"""Twilio SMS over its REST API with httpx (``POST /2010-04-01/Accounts/{sid}/Messages.json``).

Tests replace only the transport (``httpx.MockTransport``), so this code runs as in production.
"""

from __future__ import annotations

import logging

import httpx

from cloud.notify.port import VOICE_UNAVAILABLE, NotifierError
from cloud.phones import E164_RE, mask_phone

log = logging.getLogger(__name__)

# Twilio error codes that will not succeed on retry (invalid/unreachable/blocked numbers).
PERMANENT_ERROR_CODES = frozenset({21211, 21408, 21610, 21612, 21614})


class TwilioNotifier:
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        base_url: str = "https://api.twilio.com",
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        status_callback: str | None = None,
    ) -> None:
        """``status_callback``: the URL Twilio posts delivery status to (``/api/v1/notify/twilio/status``)."""
        if not account_sid or not auth_token or not sender:
            raise ValueError("twilio needs account_sid, auth_token and a sender")
        self._account_sid = account_sid
        self._sender = sender
        self._status_callback = status_callback
        self._client = httpx.AsyncClient(
            base_url=base_url,
            auth=(account_sid, auth_token),
            timeout=timeout_s,
            transport=transport,
        )

    async def send_sms(self, *, to: str, body: str) -> str:
        if not E164_RE.match(to):
            raise NotifierError("recipient is not an E.164 number", retryable=False)
        form = {"To": to, "Body": body}
        if self._sender.startswith("MG"):
            form["MessagingServiceSid"] = self._sender
        else:
            form["From"] = self._sender
        if self._status_callback:
            form["StatusCallback"] = self._status_callback
        try:
            response = await self._client.post(
                f"/2010-04-01/Accounts/{self._account_sid}/Messages.json", data=form
            )
        except httpx.HTTPError as exc:
            raise NotifierError(f"twilio unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            code = _error_code(response)
            retryable = response.status_code == 429 or response.status_code >= 500
            if code in PERMANENT_ERROR_CODES:
                retryable = False
            raise NotifierError(f"twilio answered {response.status_code} code={code}", retryable=retryable)
        try:
            sid = response.json()["sid"]
        except (ValueError, KeyError, TypeError) as exc:
            raise NotifierError("twilio answer without a message sid") from exc
        if not isinstance(sid, str):
            raise NotifierError("twilio answer without a message sid")
        log.info("sms.sent provider=twilio to=%s id=%s", mask_phone(to), sid)
        return sid

    async def call(self, *, to: str, text: str) -> str:
        """Voice calls come with the Twilio Voice adapter (issue 10, channels); until then the ladder
        skips its voice steps (a permanent failure moves it on)."""
        del to, text
        raise NotifierError(VOICE_UNAVAILABLE, retryable=False)

    async def aclose(self) -> None:
        await self._client.aclose()


def _error_code(response: httpx.Response) -> int | None:
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) else None
