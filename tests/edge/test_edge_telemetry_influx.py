"""The InfluxDB sink against a real HTTP server speaking InfluxDB 2's write API, and the gateway with it.

``FakeInflux`` is a FastAPI app on uvicorn: ``POST /api/v2/write`` checks the token, parses the line
protocol and records the points (a point of an existing series and time overwrites it, as in InfluxDB);
tests script its answers (204, 503 for a while, 401) or make it hang.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from edge_cloud_standin import CloudStandIn
from edge_testkit import BASE_TS, EDGE_ID, DeviceLink
from fastapi import FastAPI, Header, Request, Response

from broker.runner import free_port
from contracts import AccelBatch, SosPress, Status, Vitals, encode
from edge.delivery.backoff import Backoff
from edge.telemetry.influx import InfluxTelemetrySink
from edge.telemetry.sink import ACTIVITY, DEVICE_STATUS, EDGE_GATEWAY, VITALS, Point
from tests.serving import serving

TOKEN = "influx-test-token-1"
ORG, BUCKET = "anxin", "telemetry"


@dataclass
class Written:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, Any]
    ts_ms: int


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside quotes and not escaped (line protocol)."""
    parts, current, quoted, i = [], "", False, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current += text[i : i + 2]
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    return [*parts, current]


def _unescape(text: str) -> str:
    out, i = "", 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out += text[i + 1]
            i += 2
        else:
            out += text[i]
            i += 1
    return out


def _value(raw: str) -> Any:
    if raw.startswith('"'):
        return _unescape(raw[1:-1])
    if raw in ("true", "false"):
        return raw == "true"
    if raw.endswith("i"):
        return int(raw[:-1])
    return float(raw)


def parse_line(line: str) -> Written:
    head, fields, ts = _split(line, " ")
    name, *tags = _split(head, ",")
    pairs = [_split(t, "=") for t in tags]
    values = [_split(f, "=") for f in _split(fields, ",")]
    return Written(
        _unescape(name),
        {_unescape(k): _unescape(v) for k, v in pairs},
        {_unescape(k): _value(v) for k, v in values},
        int(ts),
    )


class FakeInflux:
    def __init__(self) -> None:
        self.answers: list[int] = []  # statuses to answer next (then 204)
        self.hang = False  # hold requests open until ``release`` is set
        self.release = asyncio.Event()
        self.hanging = 0
        self.points: list[Written] = []
        self.statuses: list[int] = []
        self.params: list[dict[str, str]] = []
        self.agents: list[str] = []
        self.changed = asyncio.Condition()
        self.app = FastAPI()
        self.app.post("/api/v2/write")(self._write)

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], within_s: float = 10.0) -> None:
        async with asyncio.timeout(within_s), self.changed:
            await self.changed.wait_for(predicate)

    def _store(self, point: Written) -> None:
        """As InfluxDB does: a point with the series and time of a stored one overwrites it, so a batch
        written twice (cancelled after the server took it, then sent again at close) is stored once."""
        series = (point.measurement, tuple(sorted(point.tags.items())), point.ts_ms)
        for i, stored in enumerate(self.points):
            if (stored.measurement, tuple(sorted(stored.tags.items())), stored.ts_ms) == series:
                self.points[i] = Written(
                    point.measurement, point.tags, {**stored.fields, **point.fields}, point.ts_ms
                )
                return
        self.points.append(point)

    def of(self, measurement: str) -> list[Written]:
        return [p for p in self.points if p.measurement == measurement]

    async def _write(
        self, request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> Response:
        body = (await request.body()).decode()
        self.params.append(dict(request.query_params))
        self.agents.append(request.headers.get("user-agent", ""))
        if self.hang:
            self.hanging += 1
            await self._notify()
            await self.release.wait()
            self.hanging -= 1
        status = self.answers.pop(0) if self.answers else 204
        if authorization != f"Token {TOKEN}":
            status = 401
        if status == 204:
            for point in (parse_line(line) for line in body.splitlines() if line):
                self._store(point)
        self.statuses.append(status)
        await self._notify()
        if status == 401:
            return Response('{"code":"unauthorized","message":"unauthorized access"}', status_code=401)
        return Response(status_code=status)


@pytest.fixture
async def influx() -> AsyncIterator[tuple[FakeInflux, str]]:
    fake, port = FakeInflux(), free_port()
    async with serving(fake.app, port=port):
        yield fake, f"http://127.0.0.1:{port}"
        fake.release.set()


def make_sink(url: str, token: str = TOKEN, **overrides: Any) -> InfluxTelemetrySink:
    values: dict[str, Any] = {
        "url": url,
        "org": ORG,
        "bucket": BUCKET,
        "token": token,
        "timeout_s": 3.0,
        "batch_size": 50,
        "flush_interval_s": 0.02,
        "buffer_size": 1000,
        "backoff": Backoff(0.01, 0.05),
    }
    values.update(overrides)
    return InfluxTelemetrySink(**values)


def points(count: int, start: int = 0) -> list[Point]:
    tags = {"device_id": "wear-1", "kind": "wearable", "edge_id": EDGE_ID}
    return [
        Point(VITALS, tags, {"hr_bpm": 60 + i % 40, "motion": False}, BASE_TS + i)
        for i in range(start, count)
    ]


@asynccontextmanager
async def running(sink: InfluxTelemetrySink) -> AsyncIterator[InfluxTelemetrySink]:
    task = asyncio.create_task(sink.run())
    try:
        yield sink
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await sink.close()


async def wait_written(sink: InfluxTelemetrySink, count: int) -> None:
    """Wait on the sink's own count: a batch cancelled mid-request is sent again by close()."""
    async with asyncio.timeout(10), sink.progress:
        await sink.progress.wait_for(lambda: sink.stats.written >= count)


# -- the sink alone --------------------------------------------------------------------------------
async def test_points_arrive_as_line_protocol_with_org_bucket_and_ms_precision(
    influx: tuple[FakeInflux, str],
) -> None:
    fake, url = influx
    async with running(make_sink(url)) as sink:
        sink.write(points(120))
        await wait_written(sink, 120)
    assert fake.params[0] == {"org": ORG, "bucket": BUCKET, "precision": "ms"}
    assert fake.agents[0].startswith("influxdb-client-python/")  # written by the library's async client
    assert fake.points[0] == Written(
        VITALS,
        {"device_id": "wear-1", "kind": "wearable", "edge_id": EDGE_ID},
        {"hr_bpm": 60, "motion": False},
        BASE_TS,
    )
    assert [p.ts_ms for p in fake.points] == [BASE_TS + i for i in range(120)]
    assert sink.stats.written == 120


async def test_5xx_is_retried_with_backoff_until_it_gets_through(influx: tuple[FakeInflux, str]) -> None:
    fake, url = influx
    fake.answers = [503] * 4
    async with running(make_sink(url)) as sink:
        sink.write(points(30))
        await wait_written(sink, 30)
        sink.write(points(40, start=30))
        await wait_written(sink, 40)
    assert fake.statuses[:5] == [503, 503, 503, 503, 204]
    assert [p.ts_ms for p in fake.points] == [BASE_TS + i for i in range(40)]  # nothing lost, in order
    assert (sink.stats.retries, sink.stats.dropped_rejected) == (4, 0)


async def test_401_drops_the_batch_with_a_clear_log_and_goes_on(
    influx: tuple[FakeInflux, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = influx
    async with running(make_sink(url, token="wrong-token-1")) as sink:
        with caplog.at_level(logging.ERROR, logger="edge.telemetry.buffer"):
            sink.write(points(10))
            await fake.wait_for(lambda: fake.statuses == [401])
            async with asyncio.timeout(5), sink.progress:
                await sink.progress.wait_for(lambda: sink.stats.dropped_rejected == 10)
        assert "telemetry.rejected sink=influx dropped=10" in caplog.text
        assert "HTTP 401" in caplog.text and "unauthorized access" in caplog.text
        assert sink.stats.retries == 0 and sink.stats.buffered == 0


async def test_while_influx_is_down_the_buffer_stays_bounded(influx: tuple[FakeInflux, str]) -> None:
    fake, url = influx
    fake.answers = [503] * 1000
    async with running(make_sink(url, batch_size=10, buffer_size=100)) as sink:
        sink.write(points(10))
        await fake.wait_for(lambda: len(fake.statuses) >= 2)  # first batch is being retried
        sink.write(points(510, start=10))
        assert sink.stats.buffered <= 100 + 10
        assert sink.stats.dropped_full == 400
        fake.answers = []
        await wait_written(sink, 110)
    kept = [p.ts_ms - BASE_TS for p in fake.points]
    assert kept == list(range(10)) + list(range(410, 510))  # the batch in flight, then the newest


async def test_an_unreachable_influxdb_is_retried_not_dropped() -> None:
    sink = make_sink(f"http://127.0.0.1:{free_port()}", batch_size=5)  # nothing listens there
    async with running(sink):
        sink.write(points(5))
        async with asyncio.timeout(10), sink.progress:
            await sink.progress.wait_for(lambda: sink.stats.retries >= 2)
        assert (sink.stats.dropped_rejected, sink.stats.written, sink.stats.buffered) == (0, 0, 5)


async def test_close_sends_what_is_left(influx: tuple[FakeInflux, str]) -> None:
    fake, url = influx
    sink = make_sink(url, flush_interval_s=60)
    task = asyncio.create_task(sink.run())
    sink.write(points(7))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await sink.close()
    assert len(fake.points) == 7


# -- the gateway writing to InfluxDB ---------------------------------------------------------------
def influx_settings(url: str) -> dict[str, Any]:
    return {
        "telemetry": "influx",
        "influx_url": url,
        "influx_token": TOKEN,
        "influx_org": ORG,
        "influx_bucket": BUCKET,
        "telemetry_flush_s": 0.02,
        "telemetry_sample_s": 0.05,
    }


async def test_vitals_from_a_device_end_up_as_points_in_influxdb(
    cloud: CloudStandIn,
    gateway_factory: Callable[..., Any],
    device: DeviceLink,
    influx: tuple[FakeInflux, str],
) -> None:
    fake, url = influx
    async with gateway_factory(**influx_settings(url)) as gateway:
        vitals = Vitals(device_id="wear-1", seq=1, ts=BASE_TS + 1000, hr_bpm=72, spo2_pct=97)
        await device.publish("wear-1", "vitals", encode(vitals))
        status = Status(device_id="card-1", seq=1, ts=BASE_TS + 2000, battery_pct=55, rssi_dbm=-80)
        await device.publish("card-1", "status", encode(status))
        accel = AccelBatch(device_id="wear-1", seq=2, ts=BASE_TS + 3000, samples=[(0.0, 0.0, 1.0)] * 50)
        await device.publish("wear-1", "accel", encode(accel))
        await fake.wait_for(lambda: all(len(fake.of(m)) == 1 for m in (VITALS, DEVICE_STATUS, ACTIVITY)))
        await fake.wait_for(lambda: any(p.fields.get("accepted_vitals") == 1 for p in fake.of(EDGE_GATEWAY)))
        assert gateway.telemetry.sink.stats.dropped_rejected == 0
    [v] = fake.of(VITALS)
    assert v == Written(
        VITALS,
        {"device_id": "wear-1", "kind": "wearable", "edge_id": EDGE_ID},
        {"hr_bpm": 72, "spo2_pct": 97, "motion": False},
        BASE_TS + 1000,
    )
    [s] = fake.of(DEVICE_STATUS)
    assert (s.tags["kind"], s.fields["battery_pct"], s.fields["rssi_dbm"], s.ts_ms) == (
        "sos_card",
        55,
        -80,
        BASE_TS + 2000,
    )
    [a] = fake.of(ACTIVITY)
    assert a.fields["samples"] == 50 and a.fields["peak_g"] == pytest.approx(1.0)
    gw = next(p for p in fake.of(EDGE_GATEWAY) if p.fields.get("accepted_vitals") == 1)
    assert gw.tags == {"edge_id": EDGE_ID}
    assert gw.fields["rejected_replayed"] == 0 and "outbox_pending" in gw.fields
    assert set().union(*(p.tags for p in fake.points)) <= {"device_id", "kind", "edge_id"}


async def test_a_failing_sink_does_not_delay_the_sos_alarm_received(
    cloud: CloudStandIn,
    gateway_factory: Callable[..., Any],
    device: DeviceLink,
    influx: tuple[FakeInflux, str],
) -> None:
    fake, url = influx
    fake.hang = True  # InfluxDB takes the request and never answers (until released)
    async with gateway_factory(**influx_settings(url)) as gateway:
        await device.listen("card-1")
        for seq in range(1, 21):
            vitals = Vitals(device_id="wear-1", seq=seq, ts=BASE_TS + seq * 1000, hr_bpm=70, spo2_pct=97)
            await device.publish("wear-1", "vitals", encode(vitals))
        await fake.wait_for(lambda: fake.hanging >= 1)
        sent = time.perf_counter()
        await device.publish("card-1", "sos", encode(SosPress(device_id="card-1", seq=1, ts=BASE_TS)))
        await device.wait_downlinks(1, within_s=2.0)
        elapsed = time.perf_counter() - sent
        assert fake.hanging >= 1, "the sink's write must still be stuck while the alarm got through"
        assert elapsed < 1.0  # the sink's request times out after 3 s; the alarm did not wait for it
        await cloud.wait_for(lambda: "card-1:1" in cloud.stored_keys())
        fake.hang = False
        fake.release.set()  # InfluxDB is back: the held-up telemetry still arrives
        await fake.wait_for(lambda: len({p.ts_ms for p in fake.of(VITALS)}) == 20)
        assert gateway.accepted_count("vitals") == 20
