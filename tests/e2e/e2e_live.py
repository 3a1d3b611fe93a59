"""The operators' live stream, followed the way the console follows it, for end-to-end tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

Incidents = dict[Any, dict[str, Any]]
# the events whose data is the incident list item (incident.realert / incident.escalated carry only an id)
INCIDENT_EVENTS = frozenset({"incident.created", "incident.updated"})


class LiveIncidents:
    """Follows ``/api/v1/stream`` (SSE) and keeps the latest state of every incident by id."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self.by_id: dict[Any, dict[str, Any]] = {}
        self._changed = asyncio.Condition()
        self.connected = asyncio.Event()

    async def follow(self) -> None:
        async with self._client.stream("GET", "/api/v1/stream", timeout=None) as response:
            response.raise_for_status()
            self.connected.set()
            event, data = "", ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif not line:
                    if event in INCIDENT_EVENTS and data:
                        item = orjson.loads(data)
                        async with self._changed:
                            self.by_id[item["id"]] = item
                            self._changed.notify_all()
                    event, data = "", ""

    def kinds_of(self, device_id: str) -> set[str]:
        return {i["kind"] for i in self.by_id.values() if i["device_id"] == device_id}

    async def wait_for(
        self, predicate: Callable[[dict[Any, dict[str, Any]]], bool], within_s: float = 15
    ) -> None:
        """Wait until ``predicate(by_id)`` holds; fail naming what was seen if it does not in time."""
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.by_id)), within_s)
        except TimeoutError:
            seen = sorted({(i["device_id"], i["kind"], i["status"]) for i in self.by_id.values()})
            pytest.fail(f"condition not met within {within_s} s; incidents seen: {seen}")

    async def first(
        self, what: str, predicate: Callable[[dict[str, Any]], bool], within_s: float = 15
    ) -> dict[str, Any]:
        """The first incident for which ``predicate`` holds; fail naming ``what`` and what was seen."""

        def found() -> list[dict[str, Any]]:
            return [i for i in self.by_id.values() if predicate(i)]

        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: bool(found())), within_s)
        except TimeoutError:
            seen = sorted((i["id"], i["device_id"], i["kind"], i["status"]) for i in self.by_id.values())
            pytest.fail(f"{what}: not on the console within {within_s} s; incidents seen: {seen}")
        return found()[0]
