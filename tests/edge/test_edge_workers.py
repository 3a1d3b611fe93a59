"""``anxin edge --workers N``: devices partitioned among gateway workers, through a real Mosquitto.

Two workers (as the supervisor configures them) share one broker and one center: each device's
messages are handled whole by one worker, so a fall whose acceleration batches arrive as one stream is
detected exactly once, and an SOS from every device reaches the center once and is acknowledged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from edge_cloud_standin import CloudStandIn
from edge_testkit import BASE_TS, EDGE_ID, DeviceLink, registry_of, running
from test_edge_detection_wiring import accel_batches

from contracts import AlarmReceived, EventKind, SosPress, decode_downlink, encode
from edge.gateway import Gateway
from edge.ingest.partition import Partition, partition_of
from edge.settings import EdgeSettings
from edge.workers import worker_settings

CARDS = [f"card-{n}" for n in range(1, 13)]
WEARABLES = [f"wear-{n}" for n in range(1, 13)]


@pytest.fixture
def standin() -> CloudStandIn:
    return CloudStandIn(EDGE_ID, registry_of(*CARDS, *WEARABLES))


def test_partitions_are_stable_and_cover_every_device() -> None:
    devices = [f"dev-{n}" for n in range(2_000)]
    owners = [partition_of(d, 4) for d in devices]
    assert owners == [partition_of(d, 4) for d in devices]  # the same in every process and run
    assert partition_of("card-0001", 4) == 1  # CRC-32: fixed across Python versions and releases
    assert all(n > 400 for n in Counter(owners).values())  # spread evenly enough
    workers = [Partition(i, 4) for i in range(4)]
    topic = "anxin/v1/up/card-7/sos"
    assert sum(w.owns_topic(topic) for w in workers) == 1
    assert [w.owns_topic("anxin/v1/up") for w in workers] == [True, False, False, False]  # malformed
    assert Partition(0, 1).owns_topic("anything")
    with pytest.raises(ValueError, match="not one of"):
        Partition(2, 2)


def test_each_worker_has_its_own_files_client_ids_and_metrics_port(
    make_settings: Callable[..., EdgeSettings],
) -> None:
    base = make_settings(workers=2, metrics_port=9400)
    w0, w1 = worker_settings(base, 0), worker_settings(base, 1)
    assert w0.database_path != w1.database_path and w0.telemetry_path != w1.telemetry_path
    assert (w0.client_id, w1.client_id) == (f"anxin-edge-{EDGE_ID}-w0", f"anxin-edge-{EDGE_ID}-w1")
    assert (w0.worker_metrics_port, w1.worker_metrics_port) == (9400, 9401)
    single = make_settings()
    assert single.database_path.name == "edge.sqlite3" and single.client_id == f"anxin-edge-{EDGE_ID}"
    with pytest.raises(ValueError, match="not one of"):
        make_settings(workers=2, worker=2)


async def test_two_workers_keep_each_device_whole(
    cloud: CloudStandIn, make_settings: Callable[..., EdgeSettings], device: DeviceLink, tmp_path: Path
) -> None:
    base = make_settings(workers=2)
    fallers = [next(w for w in WEARABLES if partition_of(w, 2) == i) for i in (0, 1)]  # one per worker
    async with contextlib.AsyncExitStack() as stack:
        workers: list[Gateway] = [
            await stack.enter_async_context(running(Gateway(worker_settings(base, i)))) for i in (0, 1)
        ]
        for d in CARDS + WEARABLES:
            await device.listen(d)
        streams = {w: accel_batches(w) for w in fallers}
        for batch in zip(*streams.values(), strict=True):  # the two devices' batches interleaved
            for w, payload in zip(streams, batch, strict=True):
                await device.publish(w, "accel", payload, qos=1)
        for d in CARDS + WEARABLES:
            await device.publish(d, "sos", encode(SosPress(device_id=d, seq=100, ts=BASE_TS + 100)), qos=1)

        def falls() -> list[str]:
            return [e.device_id for e in cloud.events if e.kind is EventKind.FALL]

        sos_keys = {f"{d}:100" for d in CARDS + WEARABLES}
        await cloud.wait_for(
            lambda: sorted(falls()) == sorted(fallers) and sos_keys <= set(cloud.stored_keys())
        )
        downlinks = await device.wait_downlinks(len(sos_keys))
        per_worker = [w.accepted_count("accel") for w in workers]
        skipped = [w.metrics.get_sample_value("anxin_edge_partition_skipped_total") or 0.0 for w in workers]
    assert per_worker == [len(streams[fallers[0]]), len(streams[fallers[1]])]  # each whole, in one worker
    # the telemetry lane names its own devices: only the alarm lane (site-wide) hears the other's SOS
    assert skipped == [sum(partition_of(d, 2) != i for d in CARDS + WEARABLES) for i in (0, 1)]
    assert Counter(k for k, _ in cloud.attempts if k in sos_keys) == Counter(sos_keys)  # each SOS sent once
    acks = Counter(
        topic.split("/")[3]
        for topic, payload in downlinks
        if isinstance(decode_downlink(payload), AlarmReceived)
    )
    assert acks == Counter(d for d in CARDS + WEARABLES)  # each device acknowledged once
    assert sorted(falls()) == sorted(fallers)  # exactly one fall each
    for i in (0, 1):
        assert worker_settings(base, i).database_path.exists()


async def test_the_supervisor_runs_the_workers_as_processes(
    cloud: CloudStandIn, make_settings: Callable[..., EdgeSettings], device: DeviceLink
) -> None:
    """``anxin edge --workers 2`` as a real process tree: both partitions answer; SIGTERM stops all."""
    settings = make_settings()
    env = {
        **os.environ,
        "ANXIN_EDGE_CLOUD_TOKEN": settings.cloud_token.get_secret_value(),
        "PYTHONUNBUFFERED": "1",
    }
    argv = [
        sys.executable, "-m", "anxin", "edge", "--workers", "2", "--edge-id", EDGE_ID,
        "--mqtt-url", settings.mqtt_url, "--cloud-url", settings.cloud_url,
        "--data-dir", str(settings.data_dir),
    ]  # fmt: skip
    one_each = [next(d for d in CARDS if partition_of(d, 2) == i) for i in (0, 1)]
    for d in one_each:
        await device.listen(d)
    proc = await asyncio.create_subprocess_exec(*argv, env=env, stderr=asyncio.subprocess.PIPE)
    try:
        started: list[str] = []
        async with asyncio.timeout(60):
            assert proc.stderr is not None
            while len(started) < 2:  # each worker says so once it is subscribed and serving
                line = (await proc.stderr.readline()).decode()
                assert line, "the supervisor ended early"
                if "gateway.started" in line:
                    started.append(line)
        for d in one_each:
            await device.publish(d, "sos", encode(SosPress(device_id=d, seq=5, ts=BASE_TS + 5)), qos=1)
        await cloud.wait_for(lambda: {f"{d}:5" for d in one_each} <= set(cloud.stored_keys()), within_s=30)
        await device.wait_downlinks(2, within_s=30)
        assert Counter(k for k, _ in cloud.attempts) == Counter(f"{d}:5" for d in one_each)
        assert all(
            worker_settings(settings.model_copy(update={"workers": 2}), i).database_path.exists()
            for i in (0, 1)
        )
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await proc.wait()
