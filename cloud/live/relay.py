"""Live events across center workers on one PostgreSQL: ``NOTIFY`` out, ``LISTEN`` in.

Every event this worker's hub publishes is queued here and sent, packed (:mod:`cloud.live.notify_payload`),
with ``pg_notify`` on the channel :data:`CHANNEL`; every worker listens on it and hands the other
workers' events to its own subscribers (:meth:`LiveHub.deliver`), skipping its own by worker id, so
each SSE subscriber gets each event once, from whichever worker took the request. Street scope is
applied by the stream itself (cloud/live/stream.py), after delivery, as for local events.

One connection of its own (not from the pool) listens and sends; when it breaks the relay reconnects
with capped backoff and never stops the service. Events may be missed while it is down, so after a
reconnect the operators' streams here are ended (consoles reconnect and reload) and every edge's
command stream is woken (it re-reads its unacknowledged commands). Events published here while the
connection is down wait in a bounded queue; if it overflows the next pack says ``gap``, and the other
workers do the same reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from cloud.live.broadcast import COMMANDS_WAKEUP
from cloud.live.hub import OPERATORS, LiveEvent, LiveHub
from cloud.live.notify_payload import PayloadError, decode_pack, encode_packs
from cloud.metrics import CloudMetrics

log = logging.getLogger(__name__)

CHANNEL = "anxin_live"
QUEUE_LIMIT = 10_000  # events waiting to be sent; beyond this they are dropped and a gap is announced
BATCH = 500  # events read from the queue per round of NOTIFYs
PING_S = 10.0  # an idle connection is checked this often
IO_TIMEOUT_S = 5.0
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0

Connect = Callable[[], AbstractAsyncContextManager[Any]]  # yields an asyncpg connection


def new_worker_id() -> str:
    return uuid.uuid4().hex[:12]


LoadIncident = Callable[[int], Awaitable[dict[str, Any] | None]]


class RelayLost(Exception):
    """The relay's database connection ended."""


def application_name(worker_id: str) -> str:
    """How a worker's relay connection shows in ``pg_stat_activity``."""
    return f"anxin-live-{worker_id}"


@asynccontextmanager
async def asyncpg_connection(url: str, *, name: str) -> AsyncIterator[Any]:
    """A dedicated asyncpg connection made from the service's SQLAlchemy URL (same options, no pool),
    named ``name`` in ``pg_stat_activity``."""
    engine = create_async_engine(
        url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"server_settings": {"application_name": name}},
    )
    try:
        async with asyncio.timeout(IO_TIMEOUT_S * 2):
            conn = await engine.connect()
        try:
            raw = await conn.get_raw_connection()
            yield raw.driver_connection
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), IO_TIMEOUT_S)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(engine.dispose(), IO_TIMEOUT_S)


class PostgresRelay:
    def __init__(
        self,
        *,
        hub: LiveHub,
        connect: Connect,
        load_incident: LoadIncident,
        metrics: CloudMetrics,
        worker_id: str,
    ) -> None:
        self.worker_id = worker_id
        self._hub = hub
        self._connect = connect
        self._load_incident = load_incident
        self._metrics = metrics
        self._outgoing: asyncio.Queue[tuple[str, LiveEvent] | object] = asyncio.Queue()
        self._incoming: asyncio.Queue[str] = asyncio.Queue()
        self._unsent: list[str] = []  # packs of a round that failed: sent first after reconnecting
        self._overflowed = False
        self.listening = asyncio.Event()  # set while LISTEN is active (tests and health wait on it)

    def forward(self, channel: str, event: LiveEvent) -> None:
        """The hub's relay hook: queue ``event`` for the other workers (never blocks)."""
        if self._outgoing.qsize() >= QUEUE_LIMIT:
            self._overflowed = True
            self._metrics.live_relay.labels("dropped").inc()
            return
        self._outgoing.put_nowait((channel, event))

    async def run(self) -> None:
        """Relay until cancelled: (re)connect with backoff, listen, send; deliver what arrives."""
        log.info("live.relay_started worker=%s", self.worker_id)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._receive(), name="live-relay-receive")
            await self._connected_rounds()

    async def _connected_rounds(self) -> None:
        attempt = 0
        missed = False  # events of other workers may have gone by unheard (a lost or failed connection)
        while True:
            try:
                ended = object()  # what the termination listener queues for this connection
                async with self._connect() as conn:
                    await self._listen(conn, resumed=missed, ended=ended)
                    attempt = 0
                    await self._send_until_lost(conn, ended)
            except Exception as exc:  # a database outage must not end the service: retry
                self._metrics.live_relay_connected.set(0)
                self.listening.clear()
                log.warning("live.relay_lost worker=%s error=%s", self.worker_id, type(exc).__name__)
            missed = True
            attempt += 1
            delay = min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2 ** min(attempt, 10))
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    async def _listen(self, conn: Any, *, resumed: bool, ended: object) -> None:
        conn.add_termination_listener(lambda _conn: self._outgoing.put_nowait(ended))
        async with asyncio.timeout(IO_TIMEOUT_S):
            await conn.add_listener(CHANNEL, self._on_notify)
        self.listening.set()
        self._metrics.live_relay_connected.set(1)
        if resumed:
            self._metrics.live_relay.labels("reconnected").inc()
            log.info("live.relay_resumed worker=%s", self.worker_id)
            self._reset_local()  # we may have missed other workers' events meanwhile

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._incoming.put_nowait(payload)

    async def _send_until_lost(self, conn: Any, ended: object) -> None:
        while True:
            if self._unsent:
                await self._notify(conn, self._unsent)
                self._unsent = []
            batch = await self._next_batch(ended)
            if batch is None:
                raise RelayLost("connection terminated")
            gap, self._overflowed = self._overflowed, False
            if not batch and not gap:
                async with asyncio.timeout(IO_TIMEOUT_S):
                    await conn.execute("SELECT 1")  # a half-open connection shows itself here
                continue
            packs, lost = encode_packs(self.worker_id, batch, gap=gap)
            if lost:
                self._metrics.live_relay.labels("dropped").inc(lost)
                log.warning("live.relay_unsendable events=%d", lost)
            self._unsent = packs
            await self._notify(conn, packs)
            self._unsent = []
            self._metrics.live_relay.labels("sent").inc(len(batch) - lost)

    async def _next_batch(self, ended: object) -> list[tuple[str, LiveEvent]] | None:
        """Queued events (waiting up to :data:`PING_S` for the first); None when this connection ended
        (``ended`` is its marker; a marker of an earlier connection is ignored)."""
        try:
            items = [await asyncio.wait_for(self._outgoing.get(), PING_S)]
        except TimeoutError:
            return []
        while len(items) < BATCH and not self._outgoing.empty():
            items.append(self._outgoing.get_nowait())
        events = [item for item in items if isinstance(item, tuple)]
        if any(item is ended for item in items):
            rest = []
            while not self._outgoing.empty():
                rest.append(self._outgoing.get_nowait())
            for item in [*events, *rest]:  # sent first on the next connection, in order
                if isinstance(item, tuple):
                    self._outgoing.put_nowait(item)
            return None
        return events

    async def _notify(self, conn: Any, packs: list[str]) -> None:
        for pack in packs:
            async with asyncio.timeout(IO_TIMEOUT_S):
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, pack)

    async def _receive(self) -> None:
        while True:
            payload = await self._incoming.get()
            try:
                await self._deliver(payload)
            except Exception:  # one bad pack is logged; the relay goes on
                log.exception("live.relay_deliver_failed")

    async def _deliver(self, payload: str) -> None:
        try:
            pack = decode_pack(payload)
        except PayloadError as exc:
            log.warning("live.relay_bad_payload error=%s", exc)
            return
        if pack.worker == self.worker_id:
            return
        if pack.gap:
            self._reset_local()
        for relayed in pack.events:
            event = relayed.event
            if relayed.incident_id is not None:
                loaded = await self._load(relayed.incident_id)
                if loaded is None:
                    continue
                event = LiveEvent(name=event.name, data=loaded, id=event.id)
            self._hub.deliver(relayed.channel, event)
            self._metrics.live_relay.labels("received").inc()

    async def _load(self, incident_id: int) -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(IO_TIMEOUT_S):
                return await self._load_incident(incident_id)
        except Exception as exc:  # one event lost; the consoles reload on their next reconnect
            log.warning("live.relay_load_failed incident=%d error=%s", incident_id, type(exc).__name__)
            return None

    def _reset_local(self) -> None:
        ended = self._hub.reset(OPERATORS)
        for channel in self._hub.channels():
            if channel != OPERATORS:
                self._hub.deliver(channel, LiveEvent(name=COMMANDS_WAKEUP, data={}))
        log.info("live.relay_reset streams_ended=%d", ended)
