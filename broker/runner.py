"""The MQTT broker Anxin runs for itself: the ``mosquitto`` binary when present, else amqtt in-process.

Used by ``anxin demo`` and by the integration-test fixtures, so both run the project's own config.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broker.privileges import BrokerUser, broker_user

log = logging.getLogger(__name__)

MOSQUITTO_CONF_TEMPLATE = """\
# Anxin's Mosquitto configuration (generated). See docs/protocol.md for the production ACL and
# deploy/mosquitto/mosquitto.conf for the production broker (the same limits and persistence).
per_listener_settings false
listener {port} {host}
{auth}
set_tcp_nodelay true
# QoS 1 messages in flight to one client (the gateway's Receive Maximum is the same 1,000).
max_inflight_messages 1000
# QoS 1 messages queued per client beyond those in flight: the gateway's telemetry session reads
# without ever blocking (it sheds telemetry itself, counted, from 5,000 queued in the gateway), so the
# broker only queues for it while it is away or starved; 100,000 is ~10 s of a 10k msg/s site. Alarms
# have a session of their own, never behind telemetry.
max_queued_messages 100000
max_packet_size 65536
# Sessions, subscriptions and queued QoS 1 messages survive a restart. Saved every second: a kill -9
# loses at most the last second of accepted messages, and devices repeat an alarm until the gateway
# confirms it (docs/protocol.md), so that second is sent again.
persistence {persistence}
persistence_location {data_dir}/
autosave_interval 1
{user_line}log_dest stderr
log_type error
log_type warning
connection_messages false
"""

TLS_LISTENER_TEMPLATE = """\
listener {port} {host}
certfile {certfile}
keyfile {keyfile}
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


@dataclass(frozen=True, slots=True)
class BrokerAuth:
    """Logins and ACL (files as ``anxin broker sync`` writes them); without it the broker is anonymous."""

    password_file: Path
    acl_file: Path


@dataclass(frozen=True, slots=True)
class BrokerTls:
    """A second, TLS listener on ``port`` (same auth and ACL as the plain one)."""

    port: int
    certfile: Path
    keyfile: Path


def auth_lines(auth: BrokerAuth | None) -> str:
    """The config lines for ``auth`` (anonymous without it). The files are private (0600): a broker
    started by root then stays root instead of dropping to the ``mosquitto`` user (see start_mosquitto)."""
    if auth is None:
        return "allow_anonymous true\n"
    return f"allow_anonymous false\npassword_file {auth.password_file}\nacl_file {auth.acl_file}\n"


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
    tls_port: int | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def reload(self) -> None:
        """SIGHUP: Mosquitto re-reads its password file and ACL (after ``anxin broker sync``)."""
        self.process.send_signal(signal.SIGHUP)

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)


def start_mosquitto(
    port: int | None = None,
    *,
    host: str = "127.0.0.1",
    workdir: Path | None = None,
    persistence: bool = True,
    timeout: float = 10.0,
    auth: BrokerAuth | None = None,
    tls: BrokerTls | None = None,
) -> MosquittoBroker:
    """Start the ``mosquitto`` binary on ``host:port`` (a free port when ``port`` is None), anonymous
    unless ``auth`` is given, with a TLS listener too when ``tls`` is given.

    ``workdir`` holds the config, the broker's log (``mosquitto.log``) and, with ``persistence``, its
    database (``data/mosquitto.db``); start again on the same ``workdir`` to restore sessions and
    queued messages. With persistence on, the start checks that the broker can save (raises
    :class:`BrokerError` otherwise).
    """
    binary = mosquitto_binary()
    if binary is None:
        raise BrokerError("the mosquitto binary is not installed (apt-get install mosquitto)")
    port = port or free_port(host)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="anxin-mosquitto-"))
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    user = broker_user(data_dir)
    conf = workdir / "mosquitto.conf"
    private_files = auth is not None or tls is not None  # 0600 logins and keys: only root reads them
    if private_files and os.geteuid() == 0:
        user = BrokerUser("root", "private_files")
    else:
        user = broker_user(data_dir)
    text = MOSQUITTO_CONF_TEMPLATE.format(
        port=port,
        host=host,
        data_dir=data_dir,
        persistence="true" if persistence else "false",
        user_line=f"user {user.name}\n" if user.name else "",
        auth=auth_lines(auth),
    )
    if tls is not None:
        text += TLS_LISTENER_TEMPLATE.format(
            port=tls.port, host=host, certfile=tls.certfile, keyfile=tls.keyfile
        )
    conf.write_text(text)
    log_path = workdir / "mosquitto.log"
    with log_path.open("ab") as log_file:  # a file, not a pipe nobody reads: a full pipe blocks the broker
        process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        wait_for_port(host, port, timeout, process)
        if tls is not None:
            wait_for_port(host, tls.port, timeout, process)
        if persistence:
            check_can_save(process, data_dir / "mosquitto.db", timeout)
    except BrokerError as exc:
        process.kill()
        process.wait(timeout)
        tail = log_path.read_text(errors="replace").strip()[-500:]
        raise BrokerError(f"{exc} (runs as {user.name or 'this user'}): {tail}") from exc
    log.info("broker.started kind=mosquitto port=%d user=%s", port, user.name or "self")
    return MosquittoBroker(
        host=host, port=port, process=process, workdir=workdir, tls_port=tls.port if tls else None
    )


def check_can_save(process: subprocess.Popen[bytes], database: Path, timeout: float) -> None:
    """Wait for the broker's first autosave (``autosave_interval 1``) to write ``database``.

    No SIGUSR1: a signal sent between the listener opening and the broker installing its handlers
    would end the broker (SIGUSR1's default action), and under load that gap is wide enough to hit.
    """
    before = database.stat().st_mtime_ns if database.exists() else None
    deadline = time.monotonic() + timeout
    while not database.exists() or database.stat().st_mtime_ns == before:
        if process.poll() is not None or time.monotonic() > deadline:
            raise BrokerError(
                f"the broker cannot save its sessions in {database.parent}: make that folder writable "
                "by the broker's user"
            )
        time.sleep(0.01)  # polling a file the broker writes from its own loop


@contextmanager
def running_mosquitto(port: int | None = None, **kwargs: Any) -> Iterator[MosquittoBroker]:
    broker = start_mosquitto(port, **kwargs)
    try:
        yield broker
    finally:
        broker.stop()


class AmqttBroker:
    """amqtt in-process: the embedded fallback for a small demo fleet (≈1k msg/s at most)."""

    def __init__(
        self, port: int, host: str = "127.0.0.1", plugins: dict[str, dict[str, Any]] | None = None
    ) -> None:
        """``plugins``: amqtt plugin class path -> its config (default: anonymous clients allowed)."""
        self.host = host
        self.port = port
        self._plugins = plugins
        self._broker: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        from amqtt.broker import Broker

        config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": self._plugins
            or {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
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
