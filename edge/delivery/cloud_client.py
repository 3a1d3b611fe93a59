"""HTTP adapter to the district center (httpx): intake, registry snapshot, command stream and acks.

httpx errors are translated here: :class:`CloudUnavailable` means "try again later" (connection error,
timeout, 408, 409, 425, 429, 5xx; ``reachable`` says whether the cloud answered at all);
:class:`CloudRejected` means the cloud refused for good (other 4xx). Every call's outcome goes to
``on_status`` (True: the cloud answered and is healthy, False: it did not or said it is unavailable) —
the ``anxin_edge_cloud_up`` gauge.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
from pydantic import ValidationError

from contracts import IntakeAck
from contracts.intake import (
    COMMAND_ACK_PATH,
    COMMANDS_PATH,
    INTAKE_BATCH_PATH,
    INTAKE_PATH,
    IntakeBatchAck,
    IntakeResult,
)
from edge.errors import CloudRejected, CloudUnavailable

REGISTRY_PATH = "/api/v1/edges/{edge_id}/devices"
HEALTH_PATH = "/healthz"
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})  # 409: the intake lost a write race and says "retry"


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:200]
    return str(body)[:200]


def raise_for_status(status: int, detail: str) -> None:
    """:class:`CloudUnavailable` (try again) or :class:`CloudRejected` (for good) for an error status."""
    if status < 400:
        return
    if status >= 500 or status in _RETRYABLE_4XX:
        raise CloudUnavailable(f"cloud answered HTTP {status}", reachable=True)
    raise CloudRejected(status, detail)


def raise_for_answer(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise_for_status(response.status_code, _detail(response))


class CloudClient:
    """One ``httpx.AsyncClient`` for every call; every call has its own overall timeout.

    ``on_event_posted(body, seconds)`` is called after each intake POST the cloud confirmed (a timing
    hook for telemetry; it must not raise)."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        edge_id: str,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
        on_event_posted: Callable[[bytes, float], None] | None = None,
        on_status: Callable[[bool], None] | None = None,
    ) -> None:
        self.edge_id = edge_id
        self._on_event_posted = on_event_posted
        self.timeout_s = timeout_s
        self._on_status = on_status
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": f"anxin-edge/{edge_id}"},
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _status(self, up: bool) -> None:
        if self._on_status is not None:
            self._on_status(up)

    async def _request(
        self, method: str, path: str, *, timeout_s: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        try:
            async with asyncio.timeout(timeout_s or self.timeout_s):
                response = await self._http.request(method, path, **kwargs)
            raise_for_answer(response)
        except (httpx.TransportError, TimeoutError) as exc:
            self._status(False)
            raise CloudUnavailable(f"cloud unreachable: {type(exc).__name__}") from exc
        except CloudUnavailable:
            self._status(False)
            raise
        except CloudRejected:
            self._status(True)  # it answered, and knows what it wants
            raise
        self._status(True)
        return response

    async def healthy(self, *, timeout_s: float) -> bool:
        """``GET /healthz``: does the cloud answer, and say it is well? Never raises."""
        try:
            await self._request("GET", HEALTH_PATH, timeout_s=timeout_s)
        except (CloudUnavailable, CloudRejected):
            return False
        return True

    async def post_event(self, body: bytes) -> IntakeAck:
        started = time.perf_counter()
        response = await self._request(
            "POST", INTAKE_PATH, content=body, headers={"Content-Type": "application/json"}
        )
        try:
            ack = IntakeAck.model_validate_json(response.content)
        except ValidationError as exc:
            # The cloud said 2xx, so it has the event; a malformed answer must not cause a resend loop.
            raise CloudUnavailable("cloud answered 2xx with a malformed IntakeAck") from exc
        if self._on_event_posted is not None:
            self._on_event_posted(body, time.perf_counter() - started)
        return ack

    async def post_events(self, bodies: list[bytes]) -> list[IntakeResult]:
        """Post many outbox bodies in one request; one :class:`IntakeResult` per body, in order.

        Raises :class:`CloudRejected` for the request as a whole (404/405: a center without the batch
        route) and :class:`CloudUnavailable` as :meth:`post_event` does."""
        started = time.perf_counter()
        content = b'{"events":[' + b",".join(bodies) + b"]}"
        response = await self._request(
            "POST", INTAKE_BATCH_PATH, content=content, headers={"Content-Type": "application/json"}
        )
        try:
            results = IntakeBatchAck.model_validate_json(response.content).results
        except ValidationError as exc:
            raise CloudUnavailable("cloud answered 2xx with a malformed IntakeBatchAck") from exc
        if len(results) != len(bodies):
            raise CloudUnavailable("cloud answered a batch with the wrong number of results")
        if self._on_event_posted is not None:
            seconds = time.perf_counter() - started
            for body, result in zip(bodies, results, strict=True):
                if result.status < 300:
                    self._on_event_posted(body, seconds)
        return results

    async def fetch_devices(self) -> Any:
        response = await self._request("GET", REGISTRY_PATH.format(edge_id=self.edge_id))
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise CloudUnavailable("registry snapshot is not JSON") from exc

    async def ack_command(self, command_id: int) -> None:
        await self._request("POST", COMMAND_ACK_PATH.format(edge_id=self.edge_id, command_id=command_id))

    @asynccontextmanager
    async def command_stream(
        self, *, last_event_id: str | None, idle_timeout_s: float
    ) -> AsyncIterator[AsyncIterator[str]]:
        """Open the SSE command stream; yields an iterator of lines. A silent stream times out."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(self.timeout_s, read=idle_timeout_s)
        try:
            async with asyncio.timeout(self.timeout_s):
                request = self._http.build_request(
                    "GET", COMMANDS_PATH.format(edge_id=self.edge_id), headers=headers, timeout=timeout
                )
                response = await self._http.send(request, stream=True)
        except (httpx.TransportError, TimeoutError) as exc:
            self._status(False)
            raise CloudUnavailable(f"command stream unreachable: {type(exc).__name__}") from exc
        try:
            if response.status_code >= 400:
                await response.aread()
            try:
                raise_for_answer(response)
            except CloudUnavailable:
                self._status(False)
                raise
            self._status(True)
            yield self._lines(response)
        finally:
            await response.aclose()

    @staticmethod
    async def _lines(response: httpx.Response) -> AsyncIterator[str]:
        try:
            async for line in response.aiter_lines():
                yield line
        except httpx.TransportError as exc:  # ReadTimeout (idle stream) included
            raise CloudUnavailable(f"command stream broke: {type(exc).__name__}") from exc
