"""Twilio SMS through the ``twilio`` SDK (``client.messages.create_async``).

The SDK's own async HTTP client is aiohttp; :class:`HttpxTwilioClient` gives it httpx instead, so the
whole SDK path (request building, auth, answer parsing, ``TwilioRestException``) runs as in production
and tests replace only the socket (``httpx.MockTransport``). Nothing about the request is logged: it
holds the number and the text.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from edge.degraded.notifier import E164_RE, NotifierError, mask_phone

log = logging.getLogger(__name__)

# Twilio error codes that will not succeed on retry (invalid/unreachable/blocked numbers).
PERMANENT_ERROR_CODES = frozenset({21211, 21408, 21610, 21612, 21614})


class HttpxTwilioClient(AsyncHttpClient):  # type: ignore[misc]
    """The SDK's HTTP client port over httpx (``transport`` replaces the socket in tests)."""

    def __init__(self, *, timeout_s: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(logger=log, is_async=True, timeout=timeout_s)
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def request(  # noqa: PLR0917 — the SDK's HttpClient.request signature
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 — the SDK passes it
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        kwargs: dict[str, Any] = {"params": params, "data": data, "headers": headers, "auth": auth}
        if timeout is not None:
            kwargs["timeout"] = timeout
        response = await self._http.request(method.upper(), url, follow_redirects=allow_redirects, **kwargs)
        return TwilioResponse(response.status_code, response.text, response.headers)

    async def close(self) -> None:
        await self._http.aclose()


class TwilioNotifier:
    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``sender``: a Twilio number (E.164) or a Messaging Service SID (``MG…``)."""
        if not account_sid or not auth_token or not sender:
            raise ValueError("twilio needs account_sid, auth_token and a sender")
        self._sender = sender
        self._http = HttpxTwilioClient(timeout_s=timeout_s, transport=transport)
        self._client = Client(account_sid, auth_token, http_client=self._http)

    async def send_sms(self, *, to: str, body: str) -> str:
        if not E164_RE.match(to):
            raise NotifierError("recipient is not an E.164 number", retryable=False)
        sender: dict[str, str] = (
            {"messaging_service_sid": self._sender}
            if self._sender.startswith("MG")
            else {"from_": self._sender}
        )
        try:
            message = await self._client.messages.create_async(to=to, body=body, **sender)
        except TwilioRestException as exc:
            code = exc.code if isinstance(exc.code, int) else None
            retryable = (exc.status == 429 or exc.status >= 500) and code not in PERMANENT_ERROR_CODES
            raise NotifierError(f"twilio answered {exc.status} code={code}", retryable=retryable) from exc
        except httpx.HTTPError as exc:
            raise NotifierError(f"twilio unreachable: {type(exc).__name__}") from exc
        sid = getattr(message, "sid", None)
        if not isinstance(sid, str) or not sid:
            raise NotifierError("twilio answer without a message sid")
        log.info("edge_sms.sent provider=twilio to=%s id=%s", mask_phone(to), sid)
        return sid

    async def aclose(self) -> None:
        await self._http.close()
