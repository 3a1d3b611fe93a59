"""Who is working on an outbox event right now: the forwarder (sending it) or degraded mode (texting the
guardians and noting that in the event). One at a time per event key, so the cloud never gets a copy of
the event that misses a guardian the edge texted meanwhile (it would text them a second time).

The forwarder only *tries* (an event being handled is skipped this round, with its device's later
events); degraded mode waits for a send in flight to finish (bounded by the HTTP timeout).
"""

from __future__ import annotations

import asyncio


class KeyClaims:
    def __init__(self) -> None:
        self._held: dict[str, asyncio.Event] = {}
        self.rewrites = 0  # bodies changed by degraded mode: a row read before that must be read again

    def rewrote(self) -> None:
        """An event's body changed while claimed (call before releasing it)."""
        self.rewrites += 1

    def try_claim(self, key: str) -> bool:
        if key in self._held:
            return False
        self._held[key] = asyncio.Event()
        return True

    async def claim(self, key: str) -> None:
        while (released := self._held.get(key)) is not None:
            await released.wait()
        self._held[key] = asyncio.Event()

    def release(self, key: str) -> None:
        released = self._held.pop(key, None)
        if released is not None:
            released.set()

    def held(self, key: str) -> bool:
        return key in self._held
