"""Real processes for the fault tests: ``anxin cloud`` and ``anxin edge`` as subprocesses.

Each process's log (stderr) is read line by line; tests wait for a log line or a condition, never for
a fixed time. ``kill()`` is ``kill -9``: no shutdown code runs, as in a power cut or an OOM kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

EDGE_ID = "edge-xiqing-01"  # the demo district's edge (``anxin cloud --demo-data``)
EDGE_TOKEN = "fault-edge-token-0123456789"
PASSWORD = "fault-operator-pw-123"
REPO = Path(__file__).resolve().parents[2]


class LoggedProcess:
    """One subprocess; every stderr line is kept in ``lines`` and wakes the waiters."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str]) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            cwd=REPO,
        )
        self._reader = asyncio.create_task(self._read(self._proc))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            async with self._changed:
                self.lines.append(line.decode(errors="replace").rstrip())
                self._changed.notify_all()
        await proc.wait()
        async with self._changed:
            self._changed.notify_all()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def count(self, pattern: str) -> int:
        regex = re.compile(pattern)
        return sum(1 for line in self.lines if regex.search(line))

    async def wait_line(self, pattern: str, *, count: int = 1, within_s: float = 30.0) -> str:
        """Wait until ``count`` log lines match ``pattern``; return the last one."""
        regex = re.compile(pattern)

        def found() -> list[str]:
            return [line for line in self.lines if regex.search(line)]

        try:
            async with asyncio.timeout(within_s), self._changed:
                await self._changed.wait_for(lambda: len(found()) >= count or not self.running)
        except TimeoutError:
            raise AssertionError(
                f"{self.name}: no {count}× /{pattern}/ within {within_s} s\n{self.tail()}"
            ) from None
        matches = found()
        if len(matches) < count:
            raise AssertionError(f"{self.name} exited before /{pattern}/ ×{count}\n{self.tail()}")
        return matches[count - 1]

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.lines[-n:])

    def kill(self) -> None:
        """``kill -9``."""
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError):
            self._proc.send_signal(signal.SIGKILL)

    async def wait_exit(self, within_s: float = 30.0) -> int:
        assert self._proc is not None and self._reader is not None
        async with asyncio.timeout(within_s):
            code = await self._proc.wait()
            await self._reader
        return code

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not go within 15 s."""
        if self._proc is None:
            return
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGTERM)
            try:
                await self.wait_exit(15)
            except TimeoutError:
                self.kill()
        await self.wait_exit(15)


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANXIN_CLOUD_", "ANXIN_EDGE_"))}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def cloud_process(*, port: int, db: Path, name: str = "cloud") -> LoggedProcess:
    env = _env(
        {
            "ANXIN_CLOUD_EDGE_TOKENS": orjson.dumps({EDGE_ID: EDGE_TOKEN}).decode(),
            "ANXIN_CLOUD_OPERATOR_PASSWORD": PASSWORD,
            "ANXIN_CLOUD_SESSION_SECRET": "fault-session-secret-0123456789",
        }
    )
    argv = [sys.executable, "-m", "anxin", "cloud", "--port", str(port), "--db", f"sqlite+aiosqlite:///{db}"]
    return LoggedProcess(name, [*argv, "--demo-data"], env)


def edge_process(*, mqtt_url: str, cloud_port: int, data_dir: Path, env: dict[str, str]) -> LoggedProcess:
    argv = [
        sys.executable,
        "-m",
        "anxin",
        "edge",
        "--edge-id",
        EDGE_ID,
        "--mqtt-url",
        mqtt_url,
        "--cloud-url",
        f"http://127.0.0.1:{cloud_port}",
        "--data-dir",
        str(data_dir),
    ]
    return LoggedProcess("edge", argv, _env({"ANXIN_EDGE_CLOUD_TOKEN": EDGE_TOKEN, **env}))


async def start_cloud(cloud: LoggedProcess) -> None:
    await cloud.start()
    await cloud.wait_line("Application startup complete", within_s=60)


async def start_edge(edge: LoggedProcess) -> None:
    await edge.start()
    await edge.wait_line(r"gateway\.started", within_s=60)


async def until(predicate: Callable[[], Awaitable[bool]], *, within_s: float, what: str) -> None:
    """Re-check an outside condition (another process's state) until it holds.

    Another process cannot wake us, so this polls — each check is a real request or query, and the
    pace between checks is the only pause, never a guess at how long something takes.
    """
    try:
        async with asyncio.timeout(within_s):
            while not await predicate():  # noqa: ASYNC110 — no event crosses the process boundary
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not within {within_s} s: {what}") from None


@asynccontextmanager
async def operator_client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An operator's HTTP session at the center (logged in)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        login = {"username": "operator", "password": PASSWORD}
        (await client.post("/api/v1/auth/login", json=login)).raise_for_status()
        yield client


def integrity_ok(path: Path) -> None:
    """``PRAGMA integrity_check`` on a SQLite file (after its writer is gone)."""
    conn = sqlite3.connect(path)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
    assert result == [("ok",)], f"{path.name}: {result}"


def sqlite_files(*folders: Path) -> list[Path]:
    return sorted(
        p for folder in folders for p in folder.rglob("*") if p.suffix in (".db", ".sqlite3") and p.is_file()
    )


class District:
    """Mosquitto (from the fixture), one ``anxin cloud`` and one ``anxin edge``, restartable."""

    def __init__(self, *, mqtt_url: str, workdir: Path, free_port: Callable[[], int]) -> None:
        self.mqtt_url = mqtt_url
        self.workdir = workdir
        self.cloud_port = free_port()
        self.metrics_port = free_port()
        self.cloud_db = workdir / "cloud.db"
        self.edge_dir = workdir / "edge"
        self.cloud: LoggedProcess | None = None
        self.edge: LoggedProcess | None = None
        self.edge_settings: dict[str, Any] = {}
        self.edge_runs: list[LoggedProcess] = []
        self.cloud_runs: list[LoggedProcess] = []

    @property
    def cloud_url(self) -> str:
        return f"http://127.0.0.1:{self.cloud_port}"

    async def start_cloud(self) -> LoggedProcess:
        self.cloud = cloud_process(
            port=self.cloud_port, db=self.cloud_db, name=f"cloud#{len(self.cloud_runs)}"
        )
        self.cloud_runs.append(self.cloud)
        await start_cloud(self.cloud)
        return self.cloud

    async def start_edge(self, **settings: Any) -> LoggedProcess:
        """Start the gateway; ``settings`` are ``EdgeSettings`` fields, given as ``ANXIN_EDGE_*``
        variables (a gateway that does not know one ignores it)."""
        self.edge_settings.update(settings)
        env = {f"ANXIN_EDGE_{name.upper()}": str(value) for name, value in self.edge_settings.items()}
        self.edge = edge_process(
            mqtt_url=self.mqtt_url, cloud_port=self.cloud_port, data_dir=self.edge_dir, env=env
        )
        self.edge.name = f"edge#{len(self.edge_runs)}"
        self.edge_runs.append(self.edge)
        await start_edge(self.edge)
        return self.edge

    async def kill_cloud(self) -> None:
        assert self.cloud is not None
        self.cloud.kill()
        await self.cloud.wait_exit()

    async def kill_edge(self) -> None:
        assert self.edge is not None
        self.edge.kill()
        await self.edge.wait_exit()

    async def metric(self, name: str) -> float | None:
        """A sample of the gateway's ``/metrics`` (None while it does not answer)."""
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                text = (await client.get(f"http://127.0.0.1:{self.metrics_port}/metrics")).text
        except httpx.HTTPError:
            return None
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def edge_lines(self) -> list[str]:
        return [line for run in self.edge_runs for line in run.lines]

    async def close(self) -> None:
        for process in (*self.edge_runs, *self.cloud_runs):
            await process.stop()
