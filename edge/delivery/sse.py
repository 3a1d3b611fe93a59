"""A small Server-Sent Events parser (pure), following the WHATWG event-stream rules.

Feed it text lines (without their line ending); it returns an :class:`SseEvent` when a blank line ends
an event. Comments (``:`` lines, used as keep-alives) are ignored; ``id`` persists across events as the
stream's last event id; ``retry`` sets the reconnection delay hint.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str
    id: str | None


class SseParser:
    __slots__ = ("_data", "_event", "last_event_id", "retry_ms")

    def __init__(self, last_event_id: str | None = None) -> None:
        self.last_event_id = last_event_id
        self.retry_ms: int | None = None
        self._data: list[str] = []
        self._event = ""

    def feed_line(self, line: str) -> SseEvent | None:
        """Consume one line; return the event it completes, if any."""
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None  # unknown field names are ignored, as the spec says

    def _dispatch(self) -> SseEvent | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return SseEvent(event=event or "message", data="\n".join(data), id=self.last_event_id)
