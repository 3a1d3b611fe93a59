"""Keeps the device registry fresh: fetch the cloud's snapshot, cache it on disk, refresh periodically.

An uplink from an unknown device asks for an early refresh (at most one per ``min_interval_s``), so a
device registered at the center a moment ago is recognised without waiting for the next period.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from edge.delivery.backoff import Backoff
from edge.delivery.cloud_client import CloudClient
from edge.errors import CloudRejected, CloudUnavailable
from edge.metrics import EdgeMetrics
from edge.registry.store import DeviceRegistry, RegistryStore, parse_snapshot

log = logging.getLogger(__name__)


class RegistrySync:
    def __init__(
        self,
        *,
        registry: DeviceRegistry,
        store: RegistryStore,
        cloud: CloudClient,
        metrics: EdgeMetrics,
        clock_ms: Callable[[], int],
        backoff: Backoff,
        refresh_s: float,
        min_interval_s: float = 30.0,
        on_replaced: Callable[[], None] | None = None,
    ) -> None:
        self.registry = registry
        self._store = store
        self._cloud = cloud
        self._metrics = metrics
        self._clock_ms = clock_ms
        self._backoff = backoff
        self._refresh_s = refresh_s
        self._min_interval_s = min(min_interval_s, refresh_s)
        self._asked = asyncio.Event()
        self._on_replaced = on_replaced  # after every new snapshot (e.g. the lane's subscriptions follow)

    def request_refresh(self) -> None:
        self._asked.set()

    async def load_cached(self) -> None:
        cached = await self._store.load()
        if cached is not None:
            devices, fetched_ms = cached
            self.registry.replace(devices, fetched_ms=fetched_ms)
            self._metrics.registry_devices.set(len(devices))
            log.info("registry.loaded_cache devices=%d", len(devices))
            self._replaced()

    async def refresh(self) -> bool:
        """Fetch and store one snapshot; False (logged) when the cloud could not give one."""
        try:
            devices, bad = parse_snapshot(await self._cloud.fetch_devices())
        except CloudRejected as exc:
            log.error("registry.refused status=%d", exc.status)
            return False
        except (CloudUnavailable, ValueError) as exc:
            log.warning("registry.fetch_failed error=%s", exc)
            return False
        now = self._clock_ms()
        await self._store.save(devices, fetched_ms=now)
        self.registry.replace(devices, fetched_ms=now)
        self._metrics.registry_devices.set(len(devices))
        log.info("registry.refreshed devices=%d bad_entries=%d", len(devices), bad)
        self._replaced()
        return True

    def _replaced(self) -> None:
        if self._on_replaced is not None:
            self._on_replaced()

    async def run(self, *, fetched: bool = False) -> None:
        """Refresh forever; ``fetched`` says a snapshot was just taken (start with a wait)."""
        while True:
            if not fetched:
                fetched = await self.refresh()
            if fetched:
                self._backoff.reset()
                await asyncio.sleep(self._min_interval_s)  # rate limit for early refreshes
                self._asked.clear()
                try:
                    async with asyncio.timeout(self._refresh_s - self._min_interval_s):
                        await self._asked.wait()
                except TimeoutError:
                    pass
            else:
                await asyncio.sleep(self._backoff.next_delay())
            fetched = False
