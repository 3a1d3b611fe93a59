"""The two servers of ``anxin bench intake``, each run in its own process: ``bare`` or ``cloud``.

``python -m tools.intake_serve bare|cloud DATABASE_URL PORT`` (started by tools/intake_bench.py).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import JSON, BigInteger, Column, Integer, MetaData, String, Table, insert

from cloud.db import create_engine

BENCH_EDGE_ID = "edge-xiqing-01"
BENCH_EDGE_TOKEN = "bench-edge-token-0123456789abcdef"

_metadata = MetaData()
bare_events = Table(
    "bench_bare_events",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(220)),
    Column("device_id", String(64)),
    Column("seq", BigInteger),
    Column("payload", JSON),
)


def bare_app(url: str) -> FastAPI:
    """One ``INSERT`` + ``COMMIT`` per request, nothing else (the same engine setup as the cloud's)."""
    engine = create_engine(url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as conn:
            await conn.run_sync(_metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/bare", status_code=201)
    async def bare(body: dict[str, Any]) -> dict[str, str]:
        async with engine.begin() as conn:
            await conn.execute(
                insert(bare_events).values(
                    key=body.get("key"), device_id=body.get("device_id"), seq=body.get("seq"), payload=body
                )
            )
        return {"key": str(body.get("key"))}

    return app


def cloud_app(url: str) -> FastAPI:
    from cloud.app import create_app
    from cloud.settings import CloudSettings

    settings = CloudSettings(
        database_url=url,
        edge_tokens={BENCH_EDGE_ID: BENCH_EDGE_TOKEN},
        operator_password="bench-operator-password",
        session_secret="bench-session-secret-0123456789",
        demo_data=True,
    )
    return create_app(settings)


def main(argv: list[str]) -> None:
    kind, url, port = argv
    logging.basicConfig(level=logging.WARNING)
    app = bare_app(url) if kind == "bare" else cloud_app(url)
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
