"""In-process pub/sub for live updates: the operators' stream and each edge's command stream.

A subscriber gets a bounded queue; a subscriber that falls too far behind is closed (it reconnects
and reloads) rather than letting memory grow. :meth:`LiveHub.close` ends every subscription, so
streaming responses finish cleanly at shutdown.

With several center workers on one PostgreSQL, a relay (:mod:`cloud.live.relay`) is attached: every
event :meth:`LiveHub.publish` hands to this worker's subscribers also goes to the relay, and events of
other workers come back through :meth:`LiveHub.deliver`, which reaches local subscribers only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

OPERATORS = "operators"
QUEUE_LIMIT = 1_000


def edge_channel(edge_id: str) -> str:
    return f"edge:{edge_id}"


@dataclass(frozen=True, slots=True)
class LiveEvent:
    name: str
    data: dict[str, Any]
    id: str | None = None


class StreamClosed(Exception):
    """The hub shut down, or this subscriber fell behind and was dropped."""


_CLOSE = LiveEvent(name="__close__", data={})


@dataclass(eq=False)
class Subscription:
    channel: str
    queue: asyncio.Queue[LiveEvent] = field(default_factory=lambda: asyncio.Queue(maxsize=QUEUE_LIMIT + 1))
    closed: bool = False

    async def next(self, wait_s: float) -> LiveEvent | None:
        """The next event, or ``None`` when ``wait_s`` seconds pass without one."""
        if self.closed and self.queue.empty():
            raise StreamClosed(self.channel)
        try:
            event = await asyncio.wait_for(self.queue.get(), wait_s)
        except TimeoutError:
            return None
        if event is _CLOSE:
            self.closed = True
            raise StreamClosed(self.channel)
        return event

    def _offer(self, event: LiveEvent) -> bool:
        if self.closed:
            return False
        if self.queue.qsize() >= QUEUE_LIMIT:
            self.closed = True
            self.queue.put_nowait(_CLOSE)
            return False
        self.queue.put_nowait(event)
        return True

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(_CLOSE)


class LiveHub:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}
        self._closed = asyncio.Event()
        self._relay: Callable[[str, LiveEvent], None] | None = None
        self.dropped = 0

    def attach_relay(self, forward: Callable[[str, LiveEvent], None] | None) -> None:
        """Also hand every published event to ``forward`` (the other workers' hubs); None detaches."""
        self._relay = forward

    def channels(self) -> list[str]:
        """The channels that have a subscriber in this process."""
        return list(self._subscribers)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def subscriber_count(self, channel: str | None = None) -> int:
        if channel is not None:
            return len(self._subscribers.get(channel, ()))
        return sum(len(subs) for subs in self._subscribers.values())

    def publish(self, channel: str, event: LiveEvent) -> int:
        """Hand ``event`` to every subscriber of ``channel`` here and to the relay; returns how many
        local subscribers took it."""
        if self._relay is not None:
            self._relay(channel, event)
        return self.deliver(channel, event)

    def deliver(self, channel: str, event: LiveEvent) -> int:
        """Hand ``event`` to this process's subscribers of ``channel`` only (an event from the relay)."""
        delivered = 0
        for sub in list(self._subscribers.get(channel, ())):
            if sub._offer(event):
                delivered += 1
            elif sub.closed:
                self.dropped += 1
                log.warning("live.subscriber_dropped channel=%s", channel.split(":", 1)[0])
        return delivered

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        sub = Subscription(channel)
        if self.closed:
            sub._close()
        self._subscribers.setdefault(channel, set()).add(sub)
        try:
            yield sub
        finally:
            subs = self._subscribers.get(channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[channel]

    def reset(self, channel: str) -> int:
        """End the current subscriptions of ``channel`` (they reconnect and reload: events may have been
        missed); returns how many were ended."""
        subs = list(self._subscribers.get(channel, ()))
        for sub in subs:
            sub._close()
        return len(subs)

    def close(self) -> None:
        """End every current and future subscription (shutdown)."""
        self._closed.set()
        for subs in self._subscribers.values():
            for sub in subs:
                sub._close()
