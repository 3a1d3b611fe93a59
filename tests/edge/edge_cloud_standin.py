"""A small real HTTP stand-in for the district center: intake, registry snapshot and command stream.

It speaks the contract of ``contracts/intake.py`` and records what it got; tests flip ``fail_with`` to
make it answer errors, and wait on its condition instead of sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from contracts import EdgeCommand, EdgeEvent, IntakeAck

TOKEN = "edge-test-token-1"
Auth = Annotated[str | None, Header()]
LastEventId = Annotated[str | None, Header()]


class CloudStandIn:
    def __init__(self, edge_id: str, registry: list[dict[str, Any]] | None = None) -> None:
        self.edge_id = edge_id
        self.registry = registry  # None → the registry endpoint answers 503
        self.fail_with: int | None = None  # answer intake with this status instead of storing
        self.events: list[EdgeEvent] = []  # stored, in arrival order
        self.attempts: list[tuple[str, int]] = []  # (key, status answered)
        self.commands: list[EdgeCommand] = []
        self.acks: list[int] = []
        self.stream_headers: list[dict[str, str]] = []
        self.hold_keys: set[str] = set()  # intake of these keys waits for ``release`` before answering
        self.release = asyncio.Event()
        self.arrived: list[str] = []  # intake keys as their requests came in (held ones included)
        self.changed = asyncio.Condition()
        self.app = self._build()

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], within_s: float = 10.0) -> None:
        async with asyncio.timeout(within_s), self.changed:
            await self.changed.wait_for(predicate)

    def stored_keys(self) -> list[str]:
        return [event.key for event in self.events]

    async def add_command(self, command: EdgeCommand) -> None:
        self.commands.append(command)
        await self._notify()

    def _check_token(self, authorization: str | None) -> None:
        if authorization != f"Bearer {TOKEN}":
            raise HTTPException(status_code=401, detail="bad token")

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/v1/intake/events")
        async def intake(request: Request, authorization: Auth = None) -> Response:
            self._check_token(authorization)
            body = await request.body()
            event = EdgeEvent.model_validate_json(body)
            self.arrived.append(event.key)
            await self._notify()
            if event.key in self.hold_keys:
                await self.release.wait()
            if self.fail_with is not None:
                self.attempts.append((event.key, self.fail_with))
                await self._notify()
                return JSONResponse({"detail": "stand-in failure"}, status_code=self.fail_with)
            duplicate = event.key in self.stored_keys()
            if not duplicate:
                self.events.append(event)
            status = 200 if duplicate else 201
            self.attempts.append((event.key, status))
            await self._notify()
            ack = IntakeAck(key=event.key, incident_id=f"inc-{event.key}", duplicate=duplicate)
            return JSONResponse(ack.model_dump(), status_code=status)

        @app.get("/healthz")
        async def healthz() -> Response:
            if self.fail_with is not None:
                return JSONResponse({"status": "failing"}, status_code=503)
            return JSONResponse({"status": "ok"})

        @app.get("/api/v1/edges/{edge_id}/devices")
        async def devices(edge_id: str, authorization: Auth = None) -> Response:
            self._check_token(authorization)
            if self.registry is None:
                return JSONResponse({"detail": "registry down"}, status_code=503)
            return JSONResponse(self.registry)

        @app.get("/api/v1/edges/{edge_id}/commands")
        async def commands(
            edge_id: str, authorization: Auth = None, last_event_id: LastEventId = None
        ) -> Response:
            self._check_token(authorization)
            self.stream_headers.append({"last-event-id": last_event_id or ""})
            await self._notify()

            async def stream() -> AsyncIterator[bytes]:
                sent: set[int] = set()
                yield b": hello\n\n"
                while True:
                    for command in list(self.commands):
                        if command.id not in self.acks and command.id not in sent:
                            sent.add(command.id)
                            yield f"id: {command.id}\ndata: {command.model_dump_json()}\n\n".encode()
                    async with self.changed:
                        await self.changed.wait()

            return StreamingResponse(stream(), media_type="text/event-stream")

        @app.post("/api/v1/edges/{edge_id}/commands/{command_id}/ack")
        async def ack(edge_id: str, command_id: int, authorization: Auth = None) -> Response:
            self._check_token(authorization)
            self.acks.append(command_id)
            await self._notify()
            return Response(status_code=204)

        return app
