"""The MQTT broker Anxin runs for itself: the ``mosquitto`` binary when present, else amqtt in-process.

Used by ``anxin demo`` and by the integration-test fixtures, so both run the project's own config.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MOSQUITTO_CONF_TEMPLATE = """\
# Anxin's Mosquitto configuration (generated). See docs/protocol.md for the production ACL.
per_listener_settings false
listener {port} {host}
allow_anonymous true
set_tcp_nodelay true
max_inflight_messages 1000
max_queued_messages 10000
max_packet_size 65536
persistence {persistence}
persistence_location {data_dir}/
autosave_interval 5
log_dest stderr
log_type error
log_type warning
connection_messages false
"""

# Production ACL: each device (username = device id) may only write its uplink subtree and read its own
# downlinks; the gateway account reads every uplink and writes every downlink.
MOSQUITTO_ACL_EXAMPLE = """\
user anxin-edge
topic read anxin/v1/up/#
topic write anxin/v1/down/#

pattern write anxin/v1/up/%u/#
pattern read anxin/v1/down/%u/#
"""


class BrokerError(RuntimeError):
    """The broker could not be started."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def wait_for_port(
    host: str, port: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until ``host:port`` accepts TCP connections, or raise :class:`BrokerError`."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise BrokerError(f"broker exited with code {process.returncode} before accepting connections")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"nothing accepts connections on {host}:{port} after {timeout:.0f} s"
                ) from None
            time.sleep(0.02)  # polling a port: the kernel refuses at once, so pace the retries


def mosquitto_binary() -> str | None:
    """Path of the ``mosquitto`` binary, looking in PATH and the usual sbin folders."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for candidate in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if Path(candidate).exists():
            return candidate
    return None


@dataclass
class MosquittoBroker:
    """A ``mosquitto`` process on ``host:port`` with the project's config."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        if self.process.stderr is not None:
            self.process.stderr.close()


def start_mosquitto(
    port: int | None = None,
    *,
    host: str = "127.0.0.1",
    workdir: Path | None = None,
    persistence: bool = True,
    timeout: float = 10.0,
) -> MosquittoBroker:
    """Start the ``mosquitto`` binary on ``host:port`` (a free port when ``port`` is None)."""
    binary = mosquitto_binary()
    if binary is None:
        raise BrokerError("the mosquitto binary is not installed (apt-get install mosquitto)")
    port = port or free_port(host)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="anxin-mosquitto-"))
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        MOSQUITTO_CONF_TEMPLATE.format(
            port=port, host=host, data_dir=workdir, persistence="true" if persistence else "false"
        )
    )
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(host, port, timeout, process)
    except BrokerError as exc:
        stderr = process.stderr.read().decode(errors="replace") if process.stderr and process.poll() else ""
        process.kill()
        process.wait()
        if process.stderr is not None:
            process.stderr.close()
        raise BrokerError(f"{exc}: {stderr.strip()[-500:]}") from exc
    log.info("broker.started kind=mosquitto port=%d", port)
    return MosquittoBroker(host=host, port=port, process=process, workdir=workdir)


@contextmanager
def running_mosquitto(port: int | None = None, **kwargs: Any) -> Iterator[MosquittoBroker]:
    broker = start_mosquitto(port, **kwargs)
    try:
        yield broker
    finally:
        broker.stop()


class AmqttBroker:
    """amqtt in-process: the embedded fallback for a small demo fleet (≈1k msg/s at most)."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self._broker: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        from amqtt.broker import Broker

        config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._broker = Broker(config)
        await self._broker.start()
        await asyncio.to_thread(wait_for_port, self.host, self.port, 10.0)
        log.info("broker.started kind=amqtt port=%d", self.port)

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
