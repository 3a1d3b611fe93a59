"""Which gateway worker owns a device: a stable hash of its id into ``count`` partitions (pure).

Every worker of a site receives the site's uplinks and keeps only its own devices' — so a device's
sequence window, detector state and outbox order live whole in one process. A topic that names no
device (malformed) belongs to worker 0, which counts it as rejected once.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from contracts.topics import UPLINK_PREFIX

_DEVICE_AT = UPLINK_PREFIX.count("/") + 1  # anxin/v1/up/<device_id>/<channel>


def partition_of(device_id: str, count: int) -> int:
    """The partition of ``device_id`` among ``count``: CRC-32 of its UTF-8 bytes (the same in every
    process and release, unlike ``hash()``)."""
    return zlib.crc32(device_id.encode()) % count if count > 1 else 0


@dataclass(frozen=True, slots=True)
class Partition:
    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"worker {self.index} is not one of {self.count} partitions")

    def owns_device(self, device_id: str) -> bool:
        return partition_of(device_id, self.count) == self.index

    def owns_topic(self, topic: str) -> bool:
        """Does this worker handle a message on ``topic``?"""
        if self.count == 1:
            return True
        parts = topic.split("/")
        if len(parts) <= _DEVICE_AT or not parts[_DEVICE_AT]:
            return self.index == 0
        return partition_of(parts[_DEVICE_AT], self.count) == self.index
