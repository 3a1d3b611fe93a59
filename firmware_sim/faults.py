"""Per-message faults on the wire: duplicates, reordering, malformed, oversized, spoofed, mismatched.

Pure: a :class:`MessageFaults` per device turns the firmware's messages into wire frames, adding the
faulty ones with its own seeded generator. The real message is always sent as well (so a fault never
hides an alarm); the faulty copy is what the gateway must detect, count and drop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import orjson

from contracts import MAX_PAYLOAD_BYTES

FAULT_KINDS = ("duplicate", "reorder", "malformed", "oversized", "spoof", "mismatch")
RUN_FAULTS = ("skew",)  # fleet-wide settings rather than per-message rates


class FaultSpecError(ValueError):
    """A ``--faults`` spec is not valid."""


@dataclass(frozen=True)
class FaultRates:
    """Per-message probabilities of each fault, plus ``skew_s``: device clocks drawn in ±skew_s."""

    rates: dict[str, float] = field(default_factory=dict)
    skew_s: float = 0.0

    @property
    def any_message_fault(self) -> bool:
        return any(v > 0 for v in self.rates.values())


def parse_faults(text: str | dict[str, float] | None) -> FaultRates:
    """``duplicate=0.01,reorder=0.01,malformed=0.001,oversized=0.001,spoof=0.0005,mismatch=0.0005,skew=300``."""
    if not text:
        return FaultRates()
    items: dict[str, float] = {}
    if isinstance(text, dict):
        items = {str(k): float(v) for k, v in text.items()}
    else:
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, value = part.partition("=")
            try:
                items[name.strip()] = float(value) if sep else 1.0
            except ValueError:
                raise FaultSpecError(f"fault {name!r}: {value!r} is not a number") from None
    skew = items.pop("skew", 0.0)
    for name, rate in items.items():
        if name not in FAULT_KINDS:
            raise FaultSpecError(f"unknown fault {name!r}; known: {', '.join(FAULT_KINDS + RUN_FAULTS)}")
        if not 0.0 <= rate <= 1.0:
            raise FaultSpecError(f"fault {name!r}: rate must be within 0..1")
    if skew < 0:
        raise FaultSpecError("skew is a range in seconds and must be >= 0")
    return FaultRates(items, skew)


@dataclass(frozen=True, slots=True)
class WireMessage:
    topic: str
    payload: bytes
    qos: int
    retain: bool = False


def malformed(payload: bytes) -> bytes:
    """Cut the JSON in the middle: not parseable (``bad_json``)."""
    return payload[: max(1, len(payload) // 2)]


def oversized(payload: bytes) -> bytes:
    """Valid JSON, one field padded past the contract's size limit (``too_large``)."""
    data = orjson.loads(payload)
    data["pad"] = "x" * (MAX_PAYLOAD_BYTES + 1024)
    return orjson.dumps(data)


def relabel(payload: bytes, device_id: str) -> bytes:
    data = orjson.loads(payload)
    data["device_id"] = device_id
    return orjson.dumps(data)


class MessageFaults:
    """Applies the per-message faults of one device."""

    def __init__(self, rates: FaultRates, rng: np.random.Generator) -> None:
        self._rates = [(k, v) for k, v in rates.rates.items() if v > 0]
        self._rng = rng
        self._held: WireMessage | None = None

    def apply(
        self, msg: WireMessage, own_id: str, victim_topic: str, victim_id: str
    ) -> tuple[list[WireMessage], list[str]]:
        """Frames to send for ``msg`` and the names of the faults injected."""
        out: list[WireMessage] = []
        injected: list[str] = []
        held, self._held = self._held, None
        for kind, rate in self._rates:
            if self._rng.random() >= rate or (kind == "reorder" and held is not None):
                continue
            injected.append(kind)
            if kind == "duplicate":
                out.append(msg)
            elif kind == "reorder":
                self._held = msg  # sent after the next message of this device
            elif kind == "malformed":
                out.append(WireMessage(msg.topic, malformed(msg.payload), msg.qos))
            elif kind == "oversized":
                out.append(WireMessage(msg.topic, oversized(msg.payload), msg.qos))
            elif kind == "spoof":
                out.append(WireMessage(victim_topic, relabel(msg.payload, victim_id), msg.qos))
            elif kind == "mismatch":
                out.append(WireMessage(msg.topic, relabel(msg.payload, victim_id), msg.qos))
        if self._held is not msg:
            out.insert(0, msg)
        if held is not None:
            out.append(held)
        return out, injected

    def flush(self) -> list[WireMessage]:
        held, self._held = self._held, None
        return [] if held is None else [held]
