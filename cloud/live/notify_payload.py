"""The payload of one PostgreSQL ``NOTIFY`` between center workers: live events, packed.

``{"v": 1, "w": "<worker id>", "e": [event, ...], "gap": true?}`` where an event is
``{"c": channel, "n": name, "d": data, "i": id}`` or, when it would not fit, a reference
``{"c": channel, "n": name, "r": <incident id>}`` that the receiver loads from the database (the
incident's list item, as the console shows it). ``gap`` says the sender lost events (its queue
overflowed, or one could be neither sent nor referenced): receivers make their consoles reload.

PostgreSQL refuses a payload of 8000 bytes or more, so a pack stays under :data:`PAYLOAD_LIMIT`.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from cloud.live.hub import LiveEvent

VERSION = 1
PAYLOAD_LIMIT = 7_800  # bytes; PostgreSQL's own limit is 8000, less a margin
INCIDENT_EVENTS = frozenset({"incident.created", "incident.updated"})


class PayloadError(ValueError):
    """A NOTIFY payload this worker cannot read."""


@dataclass(frozen=True, slots=True)
class Relayed:
    """One event from another worker: ``event`` as sent, or ``incident_id`` to load (``event.data`` empty)."""

    channel: str
    event: LiveEvent
    incident_id: int | None = None


@dataclass(frozen=True, slots=True)
class Pack:
    """A decoded payload."""

    worker: str
    events: list[Relayed]
    gap: bool = False


def _encode_event(channel: str, event: LiveEvent) -> bytes | None:
    """The event inline if it fits, else a reference to its incident, else None (cannot be relayed)."""
    body: dict[str, Any] = {"c": channel, "n": event.name, "d": event.data}
    if event.id is not None:
        body["i"] = event.id
    encoded = orjson.dumps(body)
    if len(encoded) + 64 <= PAYLOAD_LIMIT:
        return encoded
    incident_id = event.data.get("id")
    if event.name in INCIDENT_EVENTS and isinstance(incident_id, int):
        return orjson.dumps({"c": channel, "n": event.name, "r": incident_id})
    return None


def _head(worker: str, gap: bool) -> bytes:
    return orjson.dumps({"v": VERSION, "w": worker, "gap": gap})[:-1] + b',"e":['


def encode_packs(
    worker: str, events: Iterable[tuple[str, LiveEvent]], *, gap: bool = False
) -> tuple[list[str], int]:
    """Pack ``(channel, event)`` pairs, in order, into as few payloads as fit; returns the payloads and
    how many events could not be relayed at all (those set ``gap`` on the next pack, or a gap-only one)."""
    payloads: list[str] = []
    parts: list[bytes] = []
    size = 0
    lost = 0
    pending_gap = gap

    def flush() -> None:
        nonlocal parts, size, pending_gap
        if parts or pending_gap:
            payloads.append((_head(worker, pending_gap) + b",".join(parts) + b"]}").decode())
        parts, size, pending_gap = [], 0, False

    for channel, event in events:
        encoded = _encode_event(channel, event)
        if encoded is None:
            lost += 1
            pending_gap = True
            continue
        if parts and size + len(encoded) + 1 + 96 > PAYLOAD_LIMIT:
            flush()
        parts.append(encoded)
        size += len(encoded) + 1
    flush()
    return payloads, lost


def decode_pack(payload: str) -> Pack:
    """Read a payload (:class:`PayloadError` if it is not one of ours, or a newer version)."""
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise PayloadError("not JSON") from exc
    if not isinstance(body, dict) or body.get("v") != VERSION or not isinstance(body.get("w"), str):
        raise PayloadError("not a version 1 pack")
    raw_events = body.get("e")
    if not isinstance(raw_events, list):
        raise PayloadError("no event list")
    return Pack(worker=body["w"], events=list(_events(raw_events)), gap=body.get("gap") is True)


def _events(raw_events: list[Any]) -> Iterator[Relayed]:
    for raw in raw_events:
        if not (isinstance(raw, dict) and isinstance(raw.get("c"), str) and isinstance(raw.get("n"), str)):
            raise PayloadError("malformed event")
        ref = raw.get("r")
        if isinstance(ref, int):
            yield Relayed(channel=raw["c"], event=LiveEvent(name=raw["n"], data={}), incident_id=ref)
            continue
        data = raw.get("d")
        event_id = raw.get("i")
        if not isinstance(data, dict) or not (event_id is None or isinstance(event_id, str)):
            raise PayloadError("malformed event")
        yield Relayed(channel=raw["c"], event=LiveEvent(name=raw["n"], data=data, id=event_id))
