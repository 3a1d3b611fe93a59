"""``InfluxTelemetrySink``: telemetry into InfluxDB 2 through ``influxdb-client`` (its async client).

Each point becomes the library's ``Point`` and its line protocol (``to_line_protocol``, ms precision);
a batch goes out in one ``WriteApiAsync.write`` on ``InfluxDBClientAsync`` (aiohttp, on the gateway's
loop). The library's own batching/retry write API is not used: the buffer, the backoff and the drop
policy stay ours (bounded, drop-oldest, counted; see :mod:`edge.telemetry.buffer`), so a dead
InfluxDB never grows memory nor stands in front of an alarm.

* 2xx: written;
* 5xx, 408, 425, 429, timeout, connection error: the batch is retried, capped exponential backoff;
* other 4xx (401 bad token, 400 bad data, 413 too large…): the batch is dropped, counted, logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import aiohttp
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from influxdb_client.client.write.point import Point as InfluxPoint
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from edge.delivery.backoff import Backoff
from edge.telemetry.buffer import BufferedSink, encode_in_slices
from edge.telemetry.sink import Point, TelemetryRejected, TelemetryUnavailable

log = logging.getLogger(__name__)

_RETRYABLE_4XX = frozenset({408, 425, 429})
MS = cast(WritePrecision, WritePrecision.MS)  # the library's "enum" is a class of str constants


def influx_point(point: Point) -> InfluxPoint:
    """Our point as the library's (empty tag values are left out, as InfluxDB wants)."""
    out = InfluxPoint(point.measurement)
    for key, value in point.tags.items():
        if value:
            out.tag(key, value)
    for key, field in point.fields.items():
        out.field(key, field)
    out.time(point.ts_ms, MS)
    return out


def line_of(point: Point) -> str:
    """One point in InfluxDB line protocol, timestamp in ms (``precision=ms``)."""
    line: str = influx_point(point).to_line_protocol()
    return line


async def encode_lines(batch: list[Point]) -> str:
    lines = await encode_in_slices([point for point in batch if point.fields], line_of)
    return "\n".join(line for line in lines if line)


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
    ) -> None:
        super().__init__(
            batch_size=batch_size, flush_interval_s=flush_interval_s, buffer_size=buffer_size, backoff=backoff
        )
        self._url, self._org, self._bucket, self._token = url.rstrip("/"), org, bucket, token
        self._timeout_s = timeout_s
        self._client: InfluxDBClientAsync | None = None

    def _connected(self) -> InfluxDBClientAsync:
        """The client, made on first use (it needs the running loop for its aiohttp session)."""
        if self._client is None:
            self._client = InfluxDBClientAsync(
                url=self._url, token=self._token, org=self._org, timeout=int(self._timeout_s * 1000)
            )
        return self._client

    async def _open(self) -> None:
        self._connected()

    async def _send(self, batch: list[Point]) -> None:
        body = await encode_lines(batch)
        if not body:
            return
        writer = self._connected().write_api()
        try:
            async with asyncio.timeout(self._timeout_s):
                await writer.write(bucket=self._bucket, org=self._org, record=body, write_precision=MS)
        except ApiException as exc:
            status = int(exc.status or 0)
            if status >= 500 or status in _RETRYABLE_4XX or status == 0:
                raise TelemetryUnavailable(f"influxdb answered HTTP {status}") from exc
            # InfluxDB's message says what is wrong (bad token, field type conflict…); it holds no payload.
            detail = str(exc.body or exc.reason or "")[:200]
            raise TelemetryRejected(f"influxdb answered HTTP {status}: {detail}") from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise TelemetryUnavailable(f"influxdb unreachable: {type(exc).__name__}") from exc

    async def _close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
