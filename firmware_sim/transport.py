"""Many real MQTT connections from one process: one :class:`DeviceLink` (session) per device.

Connections are opened by a bounded pool of connector tasks (so 10,000 devices ramp up without a SYN
flood), re-opened with jittered exponential backoff when lost, and kept alive by one sweep task that
sends PINGREQ and retransmits unacknowledged QoS 1. All tasks live in one ``TaskGroup``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import random
import resource
import ssl
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from contracts import downlink_filter, encode, uplink_topic
from contracts.topics import UplinkChannel
from contracts.uplink import Presence
from firmware_sim.faults import WireMessage
from firmware_sim.link import DeviceLink, LinkError, LinkStats

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
RETRANSMIT_AFTER_S = 20.0


class TransportError(ValueError):
    """Bad transport settings (e.g. an MQTT URL that is not ``mqtt://host:port``)."""


def parse_mqtt_url(url: str) -> tuple[str, int, bool]:
    """``(host, port, tls)`` of ``mqtt://host[:1883]`` or ``mqtts://host[:8883]`` (TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp") or not parts.hostname:
        raise TransportError(f"MQTT URL must look like mqtt://host:1883 or mqtts://host:8883, got {url!r}")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise TransportError(f"bad port in {url!r}") from None
    return parts.hostname, port, tls


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verify the broker's certificate (and host name) against ``ca_file``, or the system's CAs."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise TransportError(f"cannot load the CA file {ca_file}: {exc}") from exc


def load_credentials(path: Path) -> dict[str, str]:
    """Device secrets from a JSON object ``{"card-0001": "<secret>", …}`` (``anxin broker sync
    --issue-missing`` writes one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TransportError(f"cannot read the credentials file {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise TransportError(f"{path} must hold a JSON object of device id -> secret")
    return {str(k): v for k, v in data.items()}


def raise_fd_limit(wanted: int) -> int:
    """Raise RLIMIT_NOFILE towards ``wanted`` (up to the hard limit); returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


class FleetTransport:
    """The MQTT side of a fleet. ``on_downlink(index, topic, payload)`` is called for each downlink."""

    def __init__(
        self,
        url: str,
        device_ids: list[str],
        *,
        on_downlink: Callable[[int, str, bytes], None],
        presence_ts: Callable[[int], int | None],
        connect_concurrency: int = 64,
        keepalive_s: int = 60,
        credentials: Mapping[str, str] | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self.host, self.port, tls = parse_mqtt_url(url)
        self._ssl = tls_context(ca_file) if tls else None
        self._credentials = credentials or {}
        self.stats = LinkStats()
        self.acked = asyncio.Event()  # set on every PUBACK (for draining before shutdown)
        self.device_ids = device_ids
        self._presence_ts = presence_ts
        self._concurrency = connect_concurrency
        self.links = [self._make_link(i, d, on_downlink, keepalive_s) for i, d in enumerate(device_ids)]
        self.wanted = [True] * len(device_ids)  # False while an offline fault or silence holds it down
        self._attempts = [0] * len(device_ids)
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._queued = [False] * len(device_ids)
        self._retry: list[tuple[float, int]] = []
        self._retry_wake = asyncio.Event()
        self.first_connected = 0
        self.all_connected = asyncio.Event()
        self._ever = [False] * len(device_ids)

    def _make_link(
        self, i: int, device_id: str, on_downlink: Callable[[int, str, bytes], None], keepalive_s: int
    ) -> DeviceLink:
        will = (
            uplink_topic(device_id, UplinkChannel.PRESENCE),
            encode(Presence(device_id=device_id, online=False)),
            1,
            True,
        )
        return DeviceLink(
            device_id,
            stats=self.stats,
            will=will,
            subscription=downlink_filter(device_id),
            on_message=lambda topic, payload: on_downlink(i, topic, payload),
            keepalive_s=keepalive_s,
            acked=self.acked,
            on_lost=lambda: self._lost(i),
            password=self._credentials.get(device_id),
        )

    # -- commands from the simulation ---------------------------------------------------------
    def publish(self, i: int, msg: WireMessage) -> None:
        if self.wanted[i] or msg.qos:  # a device held offline still queues its QoS 1 messages
            self.links[i].publish(msg)
        else:
            self.stats.dropped_offline += 1

    def drop(self, i: int) -> None:
        """Lose the connection now (no DISCONNECT: the will fires) and stay offline until ``restore``."""
        self.wanted[i] = False
        self.links[i].abort()

    def restore(self, i: int) -> None:
        self.wanted[i] = True
        self._attempts[i] = 0
        self._enqueue(i)

    def _enqueue(self, i: int) -> None:
        if not self._queued[i]:
            self._queued[i] = True
            self._queue.put_nowait(i)

    def _lost(self, i: int) -> None:
        if self.wanted[i]:
            self._schedule_retry(i, lost=True)

    def _schedule_retry(self, i: int, *, lost: bool) -> None:
        self._attempts[i] += 1
        base = 0.5 if lost else min(30.0, 0.5 * 2 ** min(self._attempts[i], 6))
        heapq.heappush(self._retry, (time.monotonic() + base * random.uniform(0.5, 1.5), i))
        self._retry_wake.set()

    # -- tasks ------------------------------------------------------------------------------------
    async def run(self) -> None:
        raise_fd_limit(len(self.links) + 1024)
        for i in range(len(self.links)):
            self._enqueue(i)
        async with asyncio.TaskGroup() as tg:
            for _ in range(min(self._concurrency, max(1, len(self.links)))):
                tg.create_task(self._connector())
            tg.create_task(self._retrier())
            tg.create_task(self._sweeper())

    async def _connector(self) -> None:
        while True:
            i = await self._queue.get()
            self._queued[i] = False
            link = self.links[i]
            if not self.wanted[i] or link.connected:
                continue
            if not link.closed.is_set():  # an old connection is still closing
                link.abort()
                await asyncio.wait_for(link.closed.wait(), CONNECT_TIMEOUT_S)
            online = WireMessage(
                uplink_topic(self.device_ids[i], UplinkChannel.PRESENCE),
                encode(Presence(device_id=self.device_ids[i], online=True, ts=self._presence_ts(i))),
                1,
                True,
            )
            try:
                await link.connect(self.host, self.port, CONNECT_TIMEOUT_S, online, self._ssl)
            except LinkError:
                self.stats.errors += 1
                self._schedule_retry(i, lost=False)
                continue
            self._attempts[i] = 0
            if self._ever[i]:
                self.stats.reconnects += 1
            else:
                self._ever[i] = True
                self.first_connected += 1
                if self.first_connected == len(self.links):
                    self.all_connected.set()

    async def _retrier(self) -> None:
        while True:
            self._retry_wake.clear()
            now = time.monotonic()
            while self._retry and self._retry[0][0] <= now:
                _, i = heapq.heappop(self._retry)
                if self.wanted[i] and not self.links[i].connected:
                    self._enqueue(i)
            delay = self._retry[0][0] - now if self._retry else 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._retry_wake.wait(), timeout=max(0.01, delay))

    async def _sweeper(self) -> None:
        """Once a second: PINGREQ idle links, re-send old QoS 1, abort links whose broker went silent."""
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for link in self.links:
                if link.connected:
                    if now - link.last_heard > link.keepalive_s * 1.5:
                        link.abort()  # the broker is gone without a FIN
                    elif now - link.last_sent > link.keepalive_s * 0.5:
                        link.ping()
                    if link.pending:
                        link.retransmit_older_than(RETRANSMIT_AFTER_S, now)

    def unacknowledged(self) -> int:
        return sum(len(lk.pending) + len(lk.queue) for i, lk in enumerate(self.links) if self.wanted[i])

    async def drain(self, within_s: float) -> int:
        """Wait until every QoS 1 message of a connected device is acknowledged; returns how many are not."""
        deadline = time.monotonic() + within_s
        while (left := self.unacknowledged()) and (remaining := deadline - time.monotonic()) > 0:
            self.acked.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.acked.wait(), timeout=min(remaining, 0.5))
        return left

    async def close(self) -> None:
        """Say goodbye cleanly: presence offline (the will is discarded on DISCONNECT), then DISCONNECT."""
        for i, link in enumerate(self.links):
            if link.connected:
                offline = Presence(device_id=self.device_ids[i], online=False, ts=self._presence_ts(i))
                link.publish(WireMessage(link.will[0], encode(offline), 1, True))
            link.disconnect()
        waits = [link.closed.wait() for link in self.links if not link.closed.is_set()]
        if waits:
            try:
                await asyncio.wait_for(asyncio.gather(*waits), timeout=5.0)
            except TimeoutError:
                log.warning(
                    "transport.close_timeout open=%d", sum(not lk.closed.is_set() for lk in self.links)
                )
