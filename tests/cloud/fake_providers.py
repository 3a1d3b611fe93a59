"""Local HTTP servers that speak Twilio's and Aliyun's REST APIs, and a client that calls our webhooks
exactly as Twilio does (form-encoded, ``X-Twilio-Signature`` over the public URL).

The real SDKs (``twilio``, ``alibabacloud-dysmsapi20170525``) talk to these over real HTTP: only the
providers are fake. Every request is recorded; tests wait for the next one on a queue (no sleeps).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from tests.serving import serving

WAIT_S = 10.0
SID = "AC0123456789abcdef0123456789abcdef"  # the Twilio account the fake and the cloud agree on
TOKEN = "tw-auth-token-0123456789"
PUBLIC_URL = "http://anxin.example.org"  # what Twilio is told our webhooks live under
_ids = itertools.count(1)


def twilio_cloud(twilio_url: str, **settings: Any) -> dict[str, Any]:
    """A cloud's settings for Twilio at ``twilio_url`` (the fake), signed webhooks under ``PUBLIC_URL``."""
    return {
        "notifier": "twilio",
        "twilio_account_sid": SID,
        "twilio_auth_token": TOKEN,
        "twilio_base_url": twilio_url,
        "public_url": PUBLIC_URL,
        **settings,
    }


async def timeline(client: httpx.AsyncClient, incident_id: int) -> list[dict[str, Any]]:
    """The incident's timeline as ``client`` (an operator) reads it."""
    response = await client.get(f"/api/v1/incidents/{incident_id}")
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["timeline"]
    return entries


def sid(prefix: str) -> str:
    return f"{prefix}{next(_ids):032x}"


@dataclass
class TwilioRequest:
    kind: str  # "message" | "call"
    sid: str
    form: dict[str, str]


@dataclass
class FakeTwilio:
    """``POST /2010-04-01/Accounts/{sid}/Messages.json`` and ``Calls.json``, with HTTP basic auth."""

    account_sid: str
    auth_token: str
    requests: asyncio.Queue[TwilioRequest] = field(default_factory=asyncio.Queue)
    seen: list[TwilioRequest] = field(default_factory=list)
    fail_next: list[tuple[int, int]] = field(default_factory=list)  # (status, Twilio code) to answer

    async def _create(self, request: Request) -> JSONResponse:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
        if request.path_params["account"] != self.account_sid:
            return JSONResponse({"code": 20404, "message": "not found", "status": 404}, status_code=404)
        if self.fail_next:
            status, code = self.fail_next.pop(0)
            return JSONResponse({"code": code, "message": "error", "status": status}, status_code=status)
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        kind = "call" if request.path_params["resource"] == "Calls" else "message"
        new = TwilioRequest(kind, sid("CA" if kind == "call" else "SM"), form)
        self.seen.append(new)
        await self.requests.put(new)
        shape = {
            "sid": new.sid,
            "account_sid": self.account_sid,
            "to": form.get("To"),
            "from": form.get("From"),
            "status": "queued",
            "date_created": "Tue, 01 Dec 2026 18:00:00 +0000",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/{request.path_params['resource']}/{new.sid}",
        }
        if kind == "message":
            shape |= {"body": form.get("Body"), "num_segments": "1", "direction": "outbound-api"}
        else:
            shape |= {"direction": "outbound-api", "parent_call_sid": None}
        return JSONResponse(shape, status_code=201)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{account}/{resource:str}.json", self._create, methods=["POST"])
            ]
        )

    async def next(self, kind: str, wait_s: float = WAIT_S) -> TwilioRequest:
        """The next request of ``kind`` (earlier ones of another kind are skipped)."""
        async with asyncio.timeout(wait_s):
            while True:
                request = await self.requests.get()
                if request.kind == kind:
                    return request


@dataclass
class AliyunRequest:
    biz_id: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeAliyun:
    """Aliyun's RPC endpoint for ``SendSms`` (V3 signature: ``x-acs-action`` / ``x-acs-version`` headers,
    ``Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,…``; parameters in the query and/or form)."""

    requests: asyncio.Queue[AliyunRequest] = field(default_factory=asyncio.Queue)
    seen: list[AliyunRequest] = field(default_factory=list)
    answer_code: list[str] = field(default_factory=list)  # business codes to answer first

    async def _rpc(self, request: Request) -> JSONResponse:
        params = dict(request.query_params)
        body = (await request.body()).decode()
        if body:
            params |= dict(parse_qsl(body, keep_blank_values=True))
        request_id = f"{next(_ids):08X}-0000-4000-8000-000000000000"
        headers = dict(request.headers)
        action = headers.get("x-acs-action") or params.get("Action")
        if not headers.get("authorization", "").startswith("ACS3-HMAC-SHA256 Credential="):
            return JSONResponse(
                {"Code": "MissingAuthorization", "Message": "unsigned", "RequestId": request_id},
                status_code=400,
            )
        if action != "SendSms":
            return JSONResponse(
                {"Code": "InvalidAction.NotFound", "Message": "not found", "RequestId": request_id},
                status_code=404,
            )
        if self.answer_code:
            code = self.answer_code.pop(0)
            return JSONResponse({"Code": code, "Message": code, "RequestId": request_id})
        new = AliyunRequest(f"{next(_ids):06d}^0", params, headers)
        self.seen.append(new)
        await self.requests.put(new)
        return JSONResponse({"Code": "OK", "BizId": new.biz_id, "RequestId": request_id, "Message": "OK"})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._rpc, methods=["GET", "POST"])])

    async def next(self, wait_s: float = WAIT_S) -> AliyunRequest:
        return await asyncio.wait_for(self.requests.get(), wait_s)


@asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


async def until_recorded(cloud: Any, provider_id: str, wait_s: float = WAIT_S) -> None:
    """Wait (bounded) until the cloud's outbox stored ``provider_id`` on its message: a provider answers
    before our worker commits, and a status callback for an id we do not know yet is ignored."""
    async with asyncio.timeout(wait_s):
        while not await cloud.rows("SELECT id FROM notifications WHERE provider_id = :p", p=provider_id):
            pass


@dataclass
class TwilioCaller:
    """Calls our webhooks as Twilio does: form-encoded and signed over ``public_url`` + path + query."""

    client: httpx.AsyncClient
    public_url: str
    auth_token: str

    async def post(self, url: str, form: dict[str, str], *, token: str | None = None) -> httpx.Response:
        """``url``: absolute (as Twilio was given it) or a path under ``public_url``."""
        absolute = url if url.startswith("http") else self.public_url + url
        signature = RequestValidator(token or self.auth_token).compute_signature(absolute, form)
        parts = urlsplit(absolute)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return await self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})
