"""The ``twilio`` SDK's async HTTP client port over httpx.

The SDK's own async client is aiohttp; this one gives it httpx, so the whole SDK path (request
building, auth, answer parsing, ``TwilioRestException``) runs as in production while tests point it at
a local HTTP server that speaks Twilio's REST API (``base_url``) or replace only the socket
(``transport``). Nothing about a request is logged: it holds numbers and texts.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from twilio.http import AsyncHttpClient
from twilio.http.response import Response as TwilioResponse

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"


class HttpxTwilioClient(AsyncHttpClient):  # type: ignore[misc]
    """``base_url``: where Twilio's REST API is (``https://api.twilio.com``; a local fake in tests)."""

    def __init__(
        self,
        *,
        timeout_s: float,
        base_url: str = TWILIO_API,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(logger=log, is_async=True, timeout=timeout_s)
        self._origin = urlsplit(base_url.rstrip("/"))
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    def _target(self, url: str) -> str:
        """The SDK's URL on the configured origin (its path and query unchanged)."""
        parts = urlsplit(url)
        prefix = self._origin.path
        return urlunsplit((self._origin.scheme, self._origin.netloc, prefix + parts.path, parts.query, ""))

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
        response = await self._http.request(
            method.upper(), self._target(url), follow_redirects=allow_redirects, **kwargs
        )
        return TwilioResponse(response.status_code, response.text, response.headers)

    async def close(self) -> None:
        await self._http.aclose()
