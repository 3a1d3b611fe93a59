"""The service as a process part: serve() start/stop with open streams, health, metrics, CLI."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest
from cloud_harness import EDGE_TOKEN, PASSWORD, WAIT_S, SseReader, edge_event, make_settings

from anxin.cli import build_parser
from broker.runner import free_port
from cloud.main import serve


async def test_serve_stops_cleanly_with_open_streams(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    port = free_port()
    started = asyncio.Event()
    task = asyncio.create_task(serve(settings, host="127.0.0.1", port=port, started=started))
    await asyncio.wait_for(started.wait(), WAIT_S)
    url = f"http://127.0.0.1:{port}"
    ended = asyncio.Event()

    async def hold_operator_stream() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(WAIT_S, read=None)) as client:
            await client.post("/api/v1/auth/login", json={"username": "operator", "password": PASSWORD})
            async with client.stream("GET", "/api/v1/stream") as stream:
                reader = SseReader(stream)
                await reader.comment()
                opened.set()
                with contextlib.suppress(EOFError, httpx.HTTPError):
                    await reader.next(wait_s=60)
        ended.set()

    async def hold_edge_stream() -> None:
        headers = {"Authorization": f"Bearer {EDGE_TOKEN}"}
        async with (
            httpx.AsyncClient(
                base_url=url, headers=headers, timeout=httpx.Timeout(WAIT_S, read=None)
            ) as client,
            client.stream("GET", "/api/v1/edges/edge-xiqing-01/commands") as stream,
        ):
            reader = SseReader(stream)
            await reader.comment()
            edge_opened.set()
            with contextlib.suppress(EOFError, httpx.HTTPError):
                await reader.next(wait_s=60)

    opened, edge_opened = asyncio.Event(), asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        tg.create_task(hold_operator_stream())
        tg.create_task(hold_edge_stream())
        await asyncio.wait_for(opened.wait(), WAIT_S)
        await asyncio.wait_for(edge_opened.wait(), WAIT_S)
        loop = asyncio.get_running_loop()
        stopping_at = loop.time()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, WAIT_S)
    assert ended.is_set()
    assert loop.time() - stopping_at < 4.0  # streams were ended, not waited out by the graceful timeout


async def test_health_metrics_and_keepalive(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sse_keepalive_s=0.2)
    port = free_port()
    started = asyncio.Event()
    task = asyncio.create_task(serve(settings, host="127.0.0.1", port=port, started=started))
    try:
        await asyncio.wait_for(started.wait(), WAIT_S)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=WAIT_S) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            await client.post("/api/v1/auth/login", json={"username": "operator", "password": PASSWORD})
            async with client.stream("GET", "/api/v1/stream") as stream:
                reader = SseReader(stream)
                assert await reader.comment() == "connected"
                assert await reader.comment() == "keepalive"
            headers = {"Authorization": f"Bearer {EDGE_TOKEN}"}
            await client.post("/api/v1/intake/events", json=edge_event(), headers=headers)
            await client.post("/api/v1/intake/events", json=edge_event(), headers=headers)
            metrics = (await client.get("/metrics")).text
            assert 'anxin_cloud_intake_events_total{result="new"} 1.0' in metrics
            assert 'anxin_cloud_intake_events_total{result="duplicate"} 1.0' in metrics
            assert 'anxin_cloud_incidents_created_total{kind="sos",severity="P1"} 1.0' in metrics
            assert (await client.get("/", follow_redirects=False)).headers["location"] == "/console"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_cli_registers_anxin_cloud() -> None:
    args = build_parser().parse_args(["cloud", "--port", "8123", "--db", "sqlite+aiosqlite:///x.db"])
    assert (args.port, args.db, args.host) == (8123, "sqlite+aiosqlite:///x.db", "127.0.0.1")
    assert callable(args.func)


async def test_serve_reports_a_busy_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(RuntimeError, match="did not start"):
            await asyncio.wait_for(serve(make_settings(tmp_path), host="127.0.0.1", port=port), WAIT_S)
