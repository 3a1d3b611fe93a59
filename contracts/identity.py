"""An alarm's identity, and the idempotency keys derived from it (pure, no I/O).

A device message is identified by ``(device_id, boot, seq)``: ``boot`` counts the device's counter
restarts (factory reset, battery swap, firmware update), ``seq`` counts messages within one boot. Old
firmware sends no ``boot``; it reads as 0, and boot-0 keys are the keys of schema version 1, so events
stored before the change keep their meaning.

Keys (``:`` separates the device id; everything after it is the message's place and what it caused):

* ``card-0001:7`` — message seq 7 of boot 0; ``card-0001:b2.7`` — seq 7 of boot 2 (an alarm event);
* ``<alarm key>.fall`` — a detector's finding caused by that message;
* ``<finding key>.t<ms>`` — a time-driven finding (no message caused it; keyed by the device's last
  message and the decision time);
* ``<key>.x<digest>`` — a *different* message that arrived under a key already taken (old firmware
  whose counter restarted; a broken device repeating a seq): the first 16 hex digits of the SHA-256 of
  the device's message bytes tell the two apart, so no alarm is ever mistaken for another's copy.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

BOOT_MAX: Final = 2**32 - 1
DIGEST_HEX: Final = 16
DIGEST_PATTERN: Final = r"^[0-9a-f]{16}$"
_DIGEST_RE = re.compile(DIGEST_PATTERN)


def event_key(device_id: str, seq: int, boot: int = 0) -> str:
    """Idempotency key of an event caused by message ``(boot, seq)`` of ``device_id``."""
    return f"{device_id}:{seq}" if boot == 0 else f"{device_id}:b{boot}.{seq}"


def finding_key(device_id: str, seq: int, boot: int, kind: str) -> str:
    """Key of a detector finding of ``kind`` completed by message ``(boot, seq)``."""
    return f"{event_key(device_id, seq, boot)}.{kind}"


def tick_key(device_id: str, seq: int, boot: int, kind: str, t_ms: int) -> str:
    """Key of a time-driven finding decided at ``t_ms`` after the device's last message ``(boot, seq)``."""
    return f"{finding_key(device_id, seq, boot, kind)}.t{t_ms}"


def variant_key(key: str, digest: str) -> str:
    """The key of a different message that arrived under the taken ``key``."""
    return f"{key}.x{digest}"


def message_digest(payload: bytes | bytearray) -> str:
    """The identity of the exact bytes a device sent (two copies of one message have the same)."""
    return hashlib.sha256(payload).hexdigest()[:DIGEST_HEX]


def is_digest(value: str) -> bool:
    return bool(_DIGEST_RE.match(value))
