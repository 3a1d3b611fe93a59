"""Device logins from the registry, enforced by the real ``mosquitto``: each device only its own subtree."""

from __future__ import annotations

import stat
import threading

from broker_district import DEVICES, EDGE, GATEWAY_PASSWORD, District
from mqtt_probe import NOT_AUTHORIZED, SUCCESS, Probe

from broker.auth_files import DOWNLINK_ROOT, UPLINK_ROOT
from cloud.db import open_database
from cloud.registry import service
from contracts.topics import (
    DOWNLINK_PREFIX,
    UPLINK_PREFIX,
    DownlinkChannel,
    UplinkChannel,
    downlink_filter,
    downlink_topic,
    uplink_topic,
)

MINE, OTHER = DEVICES
GRANTED_QOS1 = 1


def probe(district: District, username: str | None, password: str | None, client_id: str = "") -> Probe:
    return Probe(district.broker.host, district.broker.port, username, password, client_id=client_id)


def connected(district: District, username: str, password: str) -> Probe:
    client = probe(district, username, password)
    assert client.connect() == SUCCESS
    return client


def test_the_acl_names_the_contract_topics() -> None:
    assert (UPLINK_ROOT, DOWNLINK_ROOT) == (UPLINK_PREFIX, DOWNLINK_PREFIX)


def test_anonymous_unknown_and_wrong_logins_are_refused(district: District) -> None:
    hashed = (district.out_dir / "passwords").read_text().splitlines()[-1].partition(":")[2]
    attempts = [
        (None, None),  # anonymous
        (MINE, "not-the-secret"),
        (MINE, district.secrets[OTHER]),  # another device's secret
        (MINE, hashed),  # the stored hash is not a password
        ("card-9999", district.secrets[MINE]),  # not registered
        ("#", district.secrets[MINE]),
        ("+", district.secrets[MINE]),
    ]
    for username, password in attempts:
        client = probe(district, username, password, client_id=f"attempt-{len(str(username))}")
        try:
            assert client.connect() != SUCCESS, (username, "was let in")
        finally:
            client.close()


def test_a_device_publishes_only_under_its_own_uplinks(district: District) -> None:
    gateway = connected(district, EDGE, GATEWAY_PASSWORD)
    device = connected(district, MINE, district.secrets[MINE])
    try:
        assert gateway.subscribe(f"{UPLINK_PREFIX}/#") == GRANTED_QOS1
        forged = [
            uplink_topic(OTHER, UplinkChannel.SOS),
            uplink_topic(OTHER, UplinkChannel.STATUS),
            downlink_topic(MINE, DownlinkChannel.ALARM),  # a device never writes downlinks
            downlink_topic(OTHER, DownlinkChannel.ALARM),
            "anxin/v1/up",
            "anything/else",
        ]
        for topic in forged:
            assert device.publish(topic, b"forged") == NOT_AUTHORIZED, topic
        own = uplink_topic(MINE, UplinkChannel.SOS)
        assert device.publish(own, b"mine") == SUCCESS
        gateway.wait_for(lambda m: m.topic == own)  # it came after every forged one, from the same client
        assert [m.topic for m in gateway.received] == [own]
    finally:
        device.close()
        gateway.close()


def test_a_device_reads_only_its_own_downlinks(district: District) -> None:
    """Mosquitto 2.0 grants any SUBSCRIBE and applies the read ACL when it delivers: a device subscribed
    to everything still gets only its own downlinks."""
    gateway = connected(district, EDGE, GATEWAY_PASSWORD)
    device = connected(district, MINE, district.secrets[MINE])
    other = connected(district, OTHER, district.secrets[OTHER])
    try:
        for topic_filter in ("#", f"{UPLINK_PREFIX}/#", f"{DOWNLINK_PREFIX}/+/#", downlink_filter(OTHER)):
            device.subscribe(topic_filter)
        assert device.subscribe(downlink_filter(MINE)) == GRANTED_QOS1
        assert other.publish(uplink_topic(OTHER, UplinkChannel.SOS), b"the other card's sos") == SUCCESS
        assert device.publish(uplink_topic(MINE, UplinkChannel.STATUS), b"my own uplink") == SUCCESS
        assert gateway.publish(downlink_topic(OTHER), b"for the other card") == SUCCESS
        assert gateway.publish(downlink_topic(MINE), b"for me") == SUCCESS
        # each was routed before its PUBACK, so anything readable would have been queued before this one
        device.wait_for(lambda m: m.payload == b"for me")
        assert {m.payload for m in device.received} == {b"for me"}
        # the gateway reads uplinks and writes downlinks, but cannot speak for a device
        assert gateway.publish(uplink_topic(MINE, UplinkChannel.SOS), b"forged") == NOT_AUTHORIZED
    finally:
        for client in (device, other, gateway):
            client.close()


async def test_a_rotated_secret_replaces_the_old_one_after_sync_and_reload(district: District) -> None:
    db = await open_database(district.db_url)
    try:
        async with db.sessions() as session:
            rotated = await service.rotate_device_secret(session=session, device_id=MINE)
            await session.commit()
    finally:
        await db.close()
    await district.sync()
    district.broker.reload()
    for _ in range(200):  # SIGHUP is applied on the broker's next loop turn: wait for it, bounded
        attempt = probe(district, MINE, rotated.mqtt_secret)
        try:
            if attempt.connect() == SUCCESS:
                break
        finally:
            attempt.close()
    else:
        raise AssertionError("the broker never accepted the rotated secret")
    old = probe(district, MINE, district.secrets[MINE])
    try:
        assert old.connect() != SUCCESS
    finally:
        old.close()


async def test_sync_writes_private_files_and_keeps_unchanged_hashes(district: District) -> None:
    before = (district.out_dir / "passwords").read_bytes()
    await district.sync()
    assert (district.out_dir / "passwords").read_bytes() == before  # the gateway's hash was kept
    for name in ("passwords", "acl"):
        assert stat.S_IMODE((district.out_dir / name).stat().st_mode) == 0o600
    assert all(secret.encode() not in before for secret in district.secrets.values())


def test_gateway_workers_can_share_the_uplinks_under_the_acl(district: District) -> None:
    """Scale-out keeps working with logins: two gateway workers in one MQTT 5 shared group each get a
    part of the uplinks, through the gateway account's read rule."""
    changed = threading.Condition()
    workers = [
        Probe(
            district.broker.host,
            district.broker.port,
            EDGE,
            GATEWAY_PASSWORD,
            f"edge-worker-{i}",
            changed=changed,
        )
        for i in (1, 2)
    ]
    device = connected(district, MINE, district.secrets[MINE])
    try:
        for worker in workers:
            assert worker.connect() == SUCCESS
            assert worker.subscribe(f"$share/edge/{UPLINK_PREFIX}/#") == GRANTED_QOS1
        topic = uplink_topic(MINE, UplinkChannel.STATUS)
        for n in range(20):
            assert device.publish(topic, f"{n}".encode()) == SUCCESS
        workers[0].wait_until(lambda: sum(len(w.received) for w in workers) >= 20, "20 uplinks")
        payloads = [m.payload for w in workers for m in w.received]
        assert sorted(payloads, key=int) == [f"{n}".encode() for n in range(20)]  # each once
        assert all(w.received for w in workers), "the group did not share the load"
    finally:
        device.close()
        for worker in workers:
            worker.close()
