"""What one gateway worker subscribes to on its telemetry lane (pure: topic filters, no I/O).

With one worker, the site-wide filters (``anxin/v1/up/+/<channel>``, one per telemetry channel). With
several, each worker names its own devices — ``anxin/v1/up/<device_id>/+`` for each device of the
registry snapshot that hashes to it — so the broker sends it (almost) only its partition's traffic
instead of the whole site's. Until a first snapshot exists (commissioning), or when the gateway
accepts devices missing from the snapshot, a worker cannot name its devices and keeps the site-wide
filters, dropping other workers' devices after reading the topic.

A per-device filter also matches the device's alarm channels; the telemetry lane drops those on
receipt (the alarm lane has its own session and subscription). One filter per device instead of one
per device and channel keeps the broker's subscription tree small (a few thousand filters per client).

Changes go subscribe-before-unsubscribe: the new filters are confirmed (SUBACK) before the old ones
are removed, so a device covered by both is never uncovered; while both are in place a message may
arrive twice, and the sequence window rejects the copy (``replayed``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from contracts.topics import UPLINK_PREFIX
from edge.ingest.partition import Partition

# SUBSCRIBE / UNSUBSCRIBE packets stay well under the broker's max_packet_size (64 KiB in the shipped
# config; a bigger packet gets the client disconnected): a filter costs its length plus 3 bytes.
PACKET_BUDGET_BYTES = 32_768


def device_filter(device_id: str, shared_group: str | None = None) -> str:
    """Every uplink channel of one device (its alarm channels are dropped on receipt)."""
    prefix = f"$share/{shared_group}/" if shared_group else ""
    return f"{prefix}{UPLINK_PREFIX}/{device_id}/+"


def owned_devices(device_ids: Iterable[str], partition: Partition) -> frozenset[str]:
    return frozenset(d for d in device_ids if partition.owns_device(d))


def packets(filters: Iterable[str], budget: int = PACKET_BUDGET_BYTES) -> Iterator[list[str]]:
    """``filters`` in groups, each small enough for one SUBSCRIBE or UNSUBSCRIBE packet."""
    group: list[str] = []
    size = 0
    for f in filters:
        cost = len(f.encode()) + 3
        if group and size + cost > budget:
            yield group
            group, size = [], 0
        group.append(f)
        size += cost
    if group:
        yield group


@dataclass(slots=True)
class SubscriptionBook:
    """What the telemetry lane wants, what the broker confirmed on this connection, and what its
    persistent session may still hold (from before a reconnect or a restart)."""

    site: tuple[str, ...]  # the site-wide filters
    shared_group: str | None = None
    devices: frozenset[str] | None = None  # None: the site-wide filters
    confirmed: set[str] = field(default_factory=set)  # SUBACKed on the current connection
    maybe_held: set[str] = field(default_factory=set)  # possibly in the broker's session

    def __post_init__(self) -> None:
        self.maybe_held |= set(self.site)  # an earlier run may have held them (commissioning)

    @property
    def per_device(self) -> bool:
        return self.devices is not None

    def wanted(self) -> list[str]:
        if self.devices is None:
            return list(self.site)
        return [device_filter(d, self.shared_group) for d in sorted(self.devices)]

    def to_subscribe(self) -> list[str]:
        return [f for f in self.wanted() if f not in self.confirmed]

    def to_unsubscribe(self) -> list[str]:
        return sorted(self.maybe_held.difference(self.wanted()))

    def sending_subscribe(self, filters: Iterable[str]) -> None:
        self.maybe_held.update(filters)

    def subscribed(self, filters: Iterable[str]) -> None:
        self.confirmed.update(filters)

    def unsubscribed(self, filters: Iterable[str]) -> None:
        gone = set(filters)
        self.confirmed -= gone
        self.maybe_held -= gone

    def reconnected(self) -> None:
        """A new connection: subscribe everything wanted again (the session may be new)."""
        self.confirmed.clear()

    def settled(self) -> bool:
        wanted = self.wanted()
        return self.confirmed.issuperset(wanted) and self.maybe_held.issubset(wanted)
