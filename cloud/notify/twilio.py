"""Twilio SMS and voice through the ``twilio`` SDK (``messages.create_async``, ``calls.create_async``).

The SDK runs over :class:`cloud.notify.twilio_http.HttpxTwilioClient`, so tests fake only Twilio's
REST API (a local HTTP server, or ``httpx.MockTransport``). A voice call fetches its TwiML from our own
signed webhook (:mod:`cloud.inbound.voice`): the masked alarm text and a one-digit ``<Gather>``. A
click-to-call first rings the operator's phone, then its TwiML dials the target with the center's
caller id (:mod:`cloud.inbound.bridge`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlencode

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from cloud.notify.callbacks import TwilioPaths
from cloud.notify.port import NotifierError
from cloud.notify.twilio_http import TWILIO_API, HttpxTwilioClient
from cloud.phones import E164_RE, mask_phone

log = logging.getLogger(__name__)

# Twilio error codes that will not succeed on retry (invalid/unreachable/blocked numbers).
PERMANENT_ERROR_CODES = frozenset({21211, 21214, 21215, 21216, 21217, 21408, 21610, 21612, 21614})
RING_TIMEOUT_S = 30


class TwilioNotifier:
    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        public_url: str,
        caller_id: str = "",
        base_url: str = TWILIO_API,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``sender``: a Twilio number (E.164) or a Messaging Service SID (``MG…``); ``caller_id``: the
        center's number that calls show (defaults to ``sender`` when that is a number); ``public_url``:
        where Twilio reaches our webhooks."""
        if not account_sid or not auth_token or not sender:
            raise ValueError("twilio needs account_sid, auth_token and a sender")
        self._sender = sender
        self.caller_id = caller_id or (sender if E164_RE.match(sender) else "")
        self.paths = TwilioPaths(public_url)
        self._http = HttpxTwilioClient(timeout_s=timeout_s, base_url=base_url, transport=transport)
        self._client = Client(account_sid, auth_token, http_client=self._http)

    async def send_sms(self, *, to: str, body: str) -> str:
        if not E164_RE.match(to):
            raise NotifierError("recipient is not an E.164 number", retryable=False)
        service = self._sender.startswith("MG")
        sender = {"messaging_service_sid": self._sender} if service else {"from_": self._sender}
        try:
            message = await self._client.messages.create_async(
                to=to, body=body, status_callback=self.paths.sms_status, **sender
            )
        except (TwilioRestException, httpx.HTTPError) as exc:
            raise _translated(exc) from exc
        sid = _sid(message)
        log.info("sms.sent provider=twilio to=%s id=%s", mask_phone(to), sid)
        return sid

    async def call(self, *, to: str, text: str) -> str:
        """Ring ``to``; when answered Twilio fetches the script (``text``, stored with the outbox row)
        and a one-digit keypad prompt from our voice webhook."""
        del text  # the voice webhook reads it from the outbox row of this call
        if not E164_RE.match(to):
            raise NotifierError("recipient is not an E.164 number", retryable=False)
        sid = await self._place(to=to, url=self.paths.voice, status_callback=self.paths.voice_status)
        log.info("call.placed provider=twilio to=%s id=%s", mask_phone(to), sid)
        return sid

    async def bridge(self, *, operator_phone: str, params: Mapping[str, str]) -> str:
        """Click-to-call: ring the operator's phone; answered, our bridge webhook dials the target
        that ``params`` name (the full number never leaves the server except to Twilio)."""
        if not E164_RE.match(operator_phone):
            raise NotifierError("the operator's phone is not an E.164 number", retryable=False)
        query = "?" + urlencode(dict(params))
        sid = await self._place(
            to=operator_phone, url=self.paths.bridge + query, status_callback=self.paths.bridge_status + query
        )
        log.info("call.bridge_placed provider=twilio operator=%s id=%s", mask_phone(operator_phone), sid)
        return sid

    async def _place(self, *, to: str, url: str, status_callback: str) -> str:
        if not self.caller_id:
            raise NotifierError("no caller id for calls (ANXIN_CLOUD_TWILIO_CALLER_ID)", retryable=False)
        try:
            call = await self._client.calls.create_async(
                to=to,
                from_=self.caller_id,
                url=url,
                method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
                timeout=RING_TIMEOUT_S,
            )
        except (TwilioRestException, httpx.HTTPError) as exc:
            raise _translated(exc) from exc
        return _sid(call)

    async def aclose(self) -> None:
        await self._http.close()


def _translated(exc: TwilioRestException | httpx.HTTPError) -> NotifierError:
    if isinstance(exc, httpx.HTTPError):
        return NotifierError(f"twilio unreachable: {type(exc).__name__}")
    code = exc.code if isinstance(exc.code, int) else None
    retryable = (exc.status == 429 or exc.status >= 500) and code not in PERMANENT_ERROR_CODES
    return NotifierError(f"twilio answered {exc.status} code={code}", retryable=retryable)


def _sid(resource: object) -> str:
    sid = getattr(resource, "sid", None)
    if not isinstance(sid, str) or not sid:
        raise NotifierError("twilio answer without a sid")
    return sid
