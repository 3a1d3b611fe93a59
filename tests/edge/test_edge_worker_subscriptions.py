"""Gateway workers subscribe to their own devices by name, through a real Mosquitto.

With a registry snapshot each worker's telemetry lane holds ``anxin/v1/up/<device>/+`` for its own
devices only, so the broker sends it (almost) nothing of the other's (``partition_skipped`` stays 0);
before a snapshot exists it takes the site-wide filters and drops the other's devices. The alarm lane
stays site-wide: an SOS from an unregistered device is still stored, acknowledged and forwarded once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from edge_cloud_standin import CloudStandIn
from edge_testkit import BASE_TS, EDGE_ID, DeviceLink, registry_of, running

from contracts import AlarmReceived, SosPress, Vitals, decode_downlink, encode
from contracts.topics import TELEMETRY_CHANNELS, uplink_filters
from edge.gateway import Gateway
from edge.ingest.partition import Partition, partition_of
from edge.ingest.subscriptions import SubscriptionBook, device_filter, owned_devices, packets
from edge.settings import EdgeSettings
from edge.workers import worker_settings

WEARABLES = [f"wear-{n}" for n in range(1, 21)]
SITE = tuple(uplink_filters(TELEMETRY_CHANNELS))


def owner(device_id: str) -> int:
    return partition_of(device_id, 2)


# one device outside the fleet per worker, in worker order (never in the registry snapshot)
SENTINELS = [next(f"wear-s{n}" for n in range(100) if owner(f"wear-s{n}") == i) for i in (0, 1)]


# -- pure ------------------------------------------------------------------------------------------
def test_the_book_subscribes_new_filters_before_it_drops_old_ones() -> None:
    book = SubscriptionBook(SITE)
    assert book.to_subscribe() == list(SITE) and book.to_unsubscribe() == []  # one worker: as ever
    book.subscribed(book.to_subscribe())
    assert book.settled()
    book.devices = frozenset({"wear-2", "wear-1"})  # a snapshot names this worker's devices
    wanted = [device_filter("wear-1"), device_filter("wear-2")]
    assert book.to_subscribe() == wanted and book.to_unsubscribe() == sorted(SITE)
    book.sending_subscribe(wanted)
    assert not book.settled()
    book.subscribed(wanted)
    book.unsubscribed(book.to_unsubscribe())
    assert book.settled() and book.to_subscribe() == []
    book.devices = frozenset({"wear-2", "wear-3"})  # one added, one removed
    assert book.to_subscribe() == [device_filter("wear-3")]
    assert book.to_unsubscribe() == [device_filter("wear-1")]
    book.reconnected()  # a new connection: everything wanted again, nothing it may hold forgotten
    assert book.to_subscribe() == [device_filter("wear-2"), device_filter("wear-3")]
    assert book.to_unsubscribe() == [device_filter("wear-1")]


def test_a_restarted_worker_drops_site_filters_its_session_may_hold() -> None:
    book = SubscriptionBook(SITE, devices=frozenset())  # a snapshot, none of its devices ours
    assert book.to_subscribe() == [] and book.to_unsubscribe() == sorted(SITE)
    assert not book.settled()


def test_packets_stay_under_the_broker_packet_limit() -> None:
    filters = [device_filter(f"d{n:060d}", "edge") for n in range(5_000)]
    groups = list(packets(filters))
    assert [f for g in groups for f in g] == filters
    assert all(sum(len(f) + 3 for f in g) <= 32_768 for g in groups) and len(groups) > 10
    assert list(packets([])) == []


def test_owned_devices_are_the_partition_s() -> None:
    both = [owned_devices(WEARABLES, Partition(i, 2)) for i in (0, 1)]
    assert both[0] | both[1] == set(WEARABLES) and not both[0] & both[1]
    assert both[0] and both[1]  # the test fleet spans both workers


# -- through a real broker -------------------------------------------------------------------------
@pytest.fixture
def standin() -> CloudStandIn:
    return CloudStandIn(EDGE_ID, registry_of(*WEARABLES))


@asynccontextmanager
async def two_workers(base: EdgeSettings) -> AsyncIterator[list[Gateway]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(running(Gateway(worker_settings(base, i)))) for i in (0, 1)]


def vitals(device_id: str, seq: int) -> bytes:
    return encode(Vitals(device_id=device_id, seq=seq, ts=BASE_TS + seq * 1000, hr_bpm=70, spo2_pct=97))


def skipped(worker: Gateway) -> float:
    return worker.metrics.get_sample_value("anxin_edge_partition_skipped_total") or 0.0


def gauge(worker: Gateway) -> float | None:
    return worker.metrics.get_sample_value("anxin_edge_subscribed_devices")


async def publish_round(device: DeviceLink, devices: list[str], seq: int) -> None:
    for d in devices:
        await device.publish(d, "vitals", vitals(d, seq), qos=1)


def mine(devices: list[str], worker: int) -> int:
    return sum(owner(d) == worker for d in devices)


async def wait_accepted(workers: list[Gateway], *rounds: list[str], index: int | None = None) -> None:
    """Each worker accepted the vitals of its devices in ``rounds`` (one publisher connection: a
    message the broker sent a worker before the last of them has been read by then). ``index``: the
    one worker given is worker ``index``."""
    for n, worker in enumerate(workers):
        i = n if index is None else index
        total = sum(mine(devices, i) for devices in rounds)

        def reached(w: Gateway = worker, n: int = total) -> bool:
            return w.accepted_count("vitals") >= n

        await worker.wait_until(reached, 20)


async def test_each_worker_receives_only_its_own_devices(
    cloud: CloudStandIn, make_settings: Callable[..., EdgeSettings], device: DeviceLink
) -> None:
    async with two_workers(make_settings(workers=2)) as workers:
        for w in workers:
            await asyncio.wait_for(w.ingest.settled.wait(), 10)
        for seq in (1, 2, 3):
            await publish_round(device, WEARABLES, seq)
        await wait_accepted(workers, *[WEARABLES] * 3)
        accepted = [w.accepted_count("vitals") for w in workers]
        assert [skipped(w) for w in workers] == [0.0, 0.0]  # nothing of the other's reached either
        assert [gauge(w) for w in workers] == [mine(WEARABLES, i) for i in (0, 1)]
        assert all(w.ingest.book.per_device for w in workers)
    assert accepted == [3 * mine(WEARABLES, i) for i in (0, 1)]


async def test_a_device_registered_after_start_is_subscribed_and_heard(
    cloud: CloudStandIn, make_settings: Callable[..., EdgeSettings], device: DeviceLink
) -> None:
    late = ["wear-101", "wear-102", "wear-103", "wear-104"]
    assert {owner(d) for d in late} == {0, 1}
    async with two_workers(make_settings(workers=2)) as workers:
        await publish_round(device, late, 1)  # not registered: nobody subscribes to them yet
        await publish_round(device, WEARABLES, 1)
        await wait_accepted(workers, WEARABLES)
        assert [w.rejected_count("unknown_device") for w in workers] == [0.0, 0.0]
        cloud.registry = registry_of(*WEARABLES, *late)
        for w in workers:
            assert await w.registry_sync.refresh()  # what the periodic sync does
            await asyncio.wait_for(w.ingest.settled.wait(), 10)
        await publish_round(device, late, 2)
        await wait_accepted(workers, WEARABLES, late)
        assert [skipped(w) for w in workers] == [0.0, 0.0]
        assert [gauge(w) for w in workers] == [mine(WEARABLES + late, i) for i in (0, 1)]
        cloud.registry = registry_of(*WEARABLES)  # and removed again: unsubscribed
        for w in workers:
            assert await w.registry_sync.refresh()
            await asyncio.wait_for(w.ingest.settled.wait(), 10)
        await publish_round(device, late, 3)
        await publish_round(device, WEARABLES, 2)
        await wait_accepted(workers, WEARABLES, late, WEARABLES)
        assert [w.rejected_count("unknown_device") for w in workers] == [0.0, 0.0]  # not heard
        assert [w.accepted_count("vitals") for w in workers] == [
            mine(late, i) + 2 * mine(WEARABLES, i) for i in (0, 1)
        ]


async def test_commissioning_takes_the_site_filters_then_switches_without_a_gap(
    cloud: CloudStandIn, make_settings: Callable[..., EdgeSettings], device: DeviceLink
) -> None:
    registry = cloud.registry
    cloud.registry = None  # no snapshot yet: the center answers 503
    async with two_workers(make_settings(workers=2)) as workers:
        assert not any(w.registry.loaded or w.ingest.book.per_device for w in workers)
        await publish_round(device, WEARABLES, 1)
        # a worker that accepted a message has read every one published before it on this connection,
        # the other's it skipped included: a sentinel of its own after the round makes its count final
        for i, sentinel in enumerate(SENTINELS):
            await device.publish(sentinel, "vitals", vitals(sentinel, 1), qos=1)
            await wait_accepted([workers[i]], [w for w in WEARABLES if owner(w) == i] + [sentinel], index=i)
            others = sum(owner(d) != i for d in WEARABLES) + i  # worker 1 has also read worker 0's sentinel
            assert skipped(workers[i]) == others
        await wait_accepted(workers, WEARABLES, SENTINELS)
        before = [skipped(w) for w in workers]
        cloud.registry = registry

        async def stream() -> None:  # uplinks keep coming while the subscriptions change
            for seq in range(2, 12):
                await publish_round(device, WEARABLES, seq)

        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(stream())
            for w in workers:
                assert await w.registry_sync.refresh()
            for w in workers:
                await asyncio.wait_for(w.ingest.settled.wait(), 10)
        await publish_round(device, WEARABLES, 12)
        await wait_accepted(
            workers, SENTINELS, *[WEARABLES] * 12
        )  # every one of them: nothing lost in the switch
        assert all(w.ingest.book.per_device for w in workers)
        await publish_round(device, WEARABLES, 13)
        await wait_accepted(workers, SENTINELS, *[WEARABLES] * 13)
        during = [skipped(w) for w in workers]
        await publish_round(device, WEARABLES, 14)
        await wait_accepted(workers, SENTINELS, *[WEARABLES] * 14)
        assert [skipped(w) for w in workers] == during  # after the switch: none of the other's
        assert all(d >= b for d, b in zip(during, before, strict=True))
        accepted = [w.accepted_count("vitals") for w in workers]
    assert accepted == [14 * mine(WEARABLES, i) + 1 for i in (0, 1)]  # and no copies (1: the sentinel)


async def test_an_unregistered_device_s_sos_is_still_acknowledged_and_forwarded_once(
    cloud: CloudStandIn, make_settings: Callable[..., EdgeSettings], device: DeviceLink
) -> None:
    strangers = ["card-901", "card-902", "card-903", "card-904"]
    assert {owner(d) for d in strangers} == {0, 1}
    async with two_workers(make_settings(workers=2)) as workers:
        for w in workers:
            await asyncio.wait_for(w.ingest.settled.wait(), 10)
        for d in strangers:
            await device.listen(d)
            await device.publish(d, "sos", encode(SosPress(device_id=d, seq=9, ts=BASE_TS + 9)), qos=1)
        keys = {f"{d}:9" for d in strangers}
        await cloud.wait_for(lambda: keys <= set(cloud.stored_keys()))
        downlinks = await device.wait_downlinks(len(strangers))
        unassigned = [
            w.metrics.get_sample_value("anxin_edge_unassigned_alarms_total") or 0.0 for w in workers
        ]
    assert unassigned == [sum(owner(d) == i for d in strangers) for i in (0, 1)]
    assert Counter(k for k, _ in cloud.attempts if k in keys) == Counter(keys)  # each sent once
    acks = Counter(t.split("/")[3] for t, p in downlinks if isinstance(decode_downlink(p), AlarmReceived))
    assert acks == Counter(strangers)  # each acknowledged once, by its own worker
