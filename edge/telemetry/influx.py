"""``InfluxTelemetrySink``: InfluxDB 2 line protocol over its HTTP write API.

``POST {url}/api/v2/write?org=…&bucket=…&precision=ms`` with ``Authorization: Token …``, one batch per
request, through httpx — a direct POST rather than influxdb-client's background write API, so the
buffer, the backoff and the drop policy are ours (bounded, drop-oldest, counted; see
:mod:`edge.telemetry.buffer`), the client is async on the gateway's loop, and tests can put a real HTTP
server (or ``httpx.MockTransport``) at the transport seam.

* 204 / 2xx: written;
* 5xx, 408, 429, timeout, connection error: the batch is retried, capped exponential backoff;
* other 4xx (401 bad token, 400 bad data, 413 too large…): the batch is dropped, counted, logged.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from edge.delivery.backoff import Backoff
from edge.telemetry.buffer import BufferedSink, encode_in_slices
from edge.telemetry.sink import FieldValue, Point, TelemetryRejected, TelemetryUnavailable

log = logging.getLogger(__name__)

WRITE_PATH = "/api/v2/write"
_RETRYABLE_4XX = frozenset({408, 425, 429})
_MEASUREMENT_ESCAPES = str.maketrans({",": "\\,", " ": "\\ ", "\\": "\\\\", "\n": "\\n"})
_KEY_ESCAPES = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ ", "\\": "\\\\", "\n": "\\n"})


def _field(value: FieldValue) -> str:
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def line_of(point: Point) -> str:
    """One point in InfluxDB line protocol, timestamp in ms (``precision=ms``)."""
    head = point.measurement.translate(_MEASUREMENT_ESCAPES)
    for key in sorted(point.tags):  # sorted tags: what InfluxDB recommends for write performance
        value = point.tags[key]
        if value:
            head += f",{key.translate(_KEY_ESCAPES)}={value.translate(_KEY_ESCAPES)}"
    fields = ",".join(f"{k.translate(_KEY_ESCAPES)}={_field(v)}" for k, v in point.fields.items())
    return f"{head} {fields} {point.ts_ms}"


async def encode_lines(batch: list[Point]) -> bytes:
    lines = await encode_in_slices([point for point in batch if point.fields], line_of)
    return "\n".join(lines).encode()


class InfluxTelemetrySink(BufferedSink):
    name = "influx"

    def __init__(
        self,
        *,
        url: str,
        org: str,
        bucket: str,
        token: str,
        timeout_s: float,
        batch_size: int,
        flush_interval_s: float,
        buffer_size: int,
        backoff: Backoff,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            batch_size=batch_size, flush_interval_s=flush_interval_s, buffer_size=buffer_size, backoff=backoff
        )
        self._timeout_s = timeout_s
        self._params = {"org": org, "bucket": bucket, "precision": "ms"}
        self._http = httpx.AsyncClient(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Token {token}", "Content-Type": "text/plain; charset=utf-8"},
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
        )

    async def _send(self, batch: list[Point]) -> None:
        body = await encode_lines(batch)
        if not body:
            return
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._http.post(WRITE_PATH, params=self._params, content=body)
        except (httpx.TransportError, TimeoutError) as exc:
            raise TelemetryUnavailable(f"influxdb unreachable: {type(exc).__name__}") from exc
        status = response.status_code
        if status < 300:
            return
        if status >= 500 or status in _RETRYABLE_4XX:
            raise TelemetryUnavailable(f"influxdb answered HTTP {status}")
        # InfluxDB's message says what is wrong (bad token, field type conflict…); it holds no payload.
        raise TelemetryRejected(f"influxdb answered HTTP {status}: {response.text[:200]}")

    async def _close(self) -> None:
        await self._http.aclose()
