"""The demo's embedded fallback (amqtt) with the same synced logins and ACL as Mosquitto.

amqtt runs in this test's event loop, so every blocking client call goes through ``asyncio.to_thread``.
MQTT 3.1.1 (amqtt speaks nothing newer): a refused publish is dropped, not answered, so the test checks
what arrives — a publisher's messages are routed in order, so once its own later message arrived, a
forged earlier one would have too.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import AsyncIterator

import paho.mqtt.client as mqtt
import pytest
from broker_district import DEVICES, EDGE, GATEWAY_PASSWORD, District
from mqtt_probe import SUCCESS, Probe

from anxin.amqtt_auth import amqtt_plugins
from broker.auth_files import acl_allows
from broker.runner import AmqttBroker, free_port
from contracts.topics import UplinkChannel, downlink_filter, downlink_topic, uplink_topic

MINE, OTHER = DEVICES


@pytest.fixture
async def amqtt_with_logins(district: District) -> AsyncIterator[tuple[AmqttBroker, District]]:
    broker = AmqttBroker(free_port(), plugins=amqtt_plugins(district.out_dir / "passwords", [EDGE]))
    await broker.start()
    try:
        yield broker, district
    finally:
        await broker.stop()
        # amqtt leaves the sockets of the connections it refused unclosed (see tests/conftest.py)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


def test_acl_decisions_match_the_mosquitto_acl() -> None:
    assert acl_allows("card-1", gateway=False, write=True, topic="anxin/v1/up/card-1/sos")
    assert not acl_allows("card-1", gateway=False, write=True, topic="anxin/v1/up/card-2/sos")
    assert not acl_allows("card-1", gateway=False, write=True, topic="anxin/v1/down/card-1/alarm")
    assert acl_allows("card-1", gateway=False, write=False, topic="anxin/v1/down/card-1/#")
    for topic_filter in ("#", "anxin/v1/down/+/alarm", "anxin/v1/down/card-2/#", "anxin/v1/up/card-1/sos"):
        assert not acl_allows("card-1", gateway=False, write=False, topic=topic_filter), topic_filter
    assert acl_allows("edge-1", gateway=True, write=False, topic="$share/edge/anxin/v1/up/#")
    assert acl_allows("edge-1", gateway=True, write=True, topic="anxin/v1/down/card-1/alarm")
    assert not acl_allows("edge-1", gateway=True, write=True, topic="anxin/v1/up/card-1/sos")
    assert not acl_allows("card-1", gateway=False, write=True, topic="anxin/v1/up/card-1")


async def test_amqtt_refuses_anonymous_wrong_and_cross_device(
    amqtt_with_logins: tuple[AmqttBroker, District],
) -> None:
    broker, district = amqtt_with_logins

    def client(username: str | None, password: str | None, client_id: str) -> Probe:
        return Probe(broker.host, broker.port, username, password, client_id, protocol=mqtt.MQTTv311)

    for username, password in ((None, None), (MINE, "wrong-secret"), (MINE, district.secrets[OTHER])):
        attempt = client(username, password, f"attempt-{password}")
        try:
            assert await asyncio.to_thread(attempt.connect) != SUCCESS, username
        finally:
            await asyncio.to_thread(attempt.close)
    gateway = client(EDGE, GATEWAY_PASSWORD, "gateway")
    device = client(MINE, district.secrets[MINE], MINE)
    try:
        assert await asyncio.to_thread(gateway.connect) == SUCCESS
        assert await asyncio.to_thread(device.connect) == SUCCESS
        await asyncio.to_thread(gateway.subscribe, "anxin/v1/up/#")
        await asyncio.to_thread(device.subscribe, "#")  # refused by the ACL
        await asyncio.to_thread(device.subscribe, downlink_filter(MINE))
        await asyncio.to_thread(device.publish, uplink_topic(OTHER, UplinkChannel.SOS), b"forged")
        await asyncio.to_thread(device.publish, uplink_topic(MINE, UplinkChannel.SOS), b"mine")
        await asyncio.to_thread(gateway.wait_for, lambda m: m.payload == b"mine")
        assert [m.payload for m in gateway.received] == [b"mine"]
        await asyncio.to_thread(gateway.publish, downlink_topic(OTHER), b"for the other card")
        await asyncio.to_thread(gateway.publish, downlink_topic(MINE), b"for me")
        await asyncio.to_thread(device.wait_for, lambda m: m.payload == b"for me")
        assert {m.payload for m in device.received} == {b"for me"}
    finally:
        await asyncio.to_thread(device.close)
        await asyncio.to_thread(gateway.close)
