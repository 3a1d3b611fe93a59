"""The TLS listener with a throwaway CA: the simulator and the gateway log in over ``mqtts://``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest
from broker_district import EDGE, GATEWAY_PASSWORD, District
from mqtt_probe import SUCCESS, Probe

from contracts import SosPress, encode
from contracts.topics import UplinkChannel, uplink_filter, uplink_topic
from edge.ingest.mqtt import MqttIngest
from edge.settings import EdgeSettings, parse_mqtt_url
from firmware_sim.faults import WireMessage
from firmware_sim.link import DeviceLink, LinkError, LinkStats
from firmware_sim.transport import FleetTransport, TransportError, tls_context

DEVICE = "card-0001"


def tls_url(district: District, login: str = "") -> str:
    return f"mqtts://{login}{district.broker.host}:{district.broker.tls_port}"


async def test_simulated_device_and_gateway_talk_over_tls(district: District) -> None:
    ingest = MqttIngest(
        endpoint=parse_mqtt_url(tls_url(district, f"{EDGE}:{GATEWAY_PASSWORD}@"), district.certs.ca),
        client_id="tls-gateway",
        topic_filters=[uplink_filter()],
        clock_ms=lambda: time.time_ns() // 1_000_000,
    )
    fleet = FleetTransport(
        tls_url(district),
        [DEVICE],
        on_downlink=lambda *_: None,
        presence_ts=lambda _i: None,
        credentials=district.secrets,
        ca_file=district.certs.ca,
    )
    async with asyncio.TaskGroup() as tasks:
        ingesting = tasks.create_task(ingest.run())
        running = tasks.create_task(fleet.run())
        try:
            async with asyncio.timeout(20):
                await ingest.subscribed.wait()
                await fleet.all_connected.wait()
                sos = SosPress(device_id=DEVICE, seq=7, ts=1_764_500_000_000)
                fleet.publish(0, WireMessage(uplink_topic(DEVICE, UplinkChannel.SOS), encode(sos), 1))
                while (message := await ingest.get()).topic != uplink_topic(DEVICE, UplinkChannel.SOS):
                    pass
            assert message.payload == encode(sos)
            assert fleet.stats.errors == 0
        finally:
            ingesting.cancel()
            running.cancel()


async def test_tls_refuses_an_unknown_ca_a_wrong_secret_and_plain_mqtt(district: District) -> None:
    online = WireMessage(uplink_topic(DEVICE, UplinkChannel.PRESENCE), b"{}", 1)
    host, port = district.broker.host, district.broker.tls_port
    assert port is not None

    def link(password: str) -> DeviceLink:
        return DeviceLink(
            DEVICE, stats=LinkStats(), will=(online.topic, b"{}", 1, True), subscription="x",
            on_message=lambda *_: None, password=password,
        )  # fmt: skip

    with pytest.raises(LinkError):  # the system's CAs do not know the throwaway CA
        await link(district.secrets[DEVICE]).connect(host, port, 10, online, tls_context(None))
    with pytest.raises(LinkError, match="refused"):
        await link("wrong").connect(host, port, 10, online, tls_context(district.certs.ca))
    with pytest.raises(LinkError):  # plain MQTT on the TLS port
        await link(district.secrets[DEVICE]).connect(host, port, 5, online, None)
    good = link(district.secrets[DEVICE])
    await good.connect(host, port, 10, online, tls_context(district.certs.ca))
    assert good.connected
    good.disconnect()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(good.closed.wait(), 5)


def test_a_paho_client_with_the_ca_logs_in_over_tls(district: District) -> None:
    assert district.broker.tls_port is not None
    probe = Probe(
        district.broker.host,
        district.broker.tls_port,
        DEVICE,
        district.secrets[DEVICE],
        ca_file=district.certs.ca,
    )
    try:
        assert probe.connect() == SUCCESS
    finally:
        probe.close()


def test_tls_settings_are_checked(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("not a certificate")
    settings = EdgeSettings(cloud_token="edge-token-0123456789", mqtt_url="mqtts://broker", mqtt_ca_file=ca)
    assert settings.mqtt.tls and settings.mqtt.port == 8883 and settings.mqtt.ca_file == ca
    with pytest.raises(ValueError, match="does not exist"):
        EdgeSettings(cloud_token="edge-token-0123456789", mqtt_ca_file=tmp_path / "missing.crt")
    with pytest.raises(TransportError, match="CA file"):
        tls_context(ca)
    with pytest.raises(TransportError):
        FleetTransport("http://broker", [], on_downlink=lambda *_: None, presence_ts=lambda _i: None)


async def test_the_gateways_alarm_lane_logs_in_over_tls_with_the_ca(district: District) -> None:
    """The alarm lane (aiomqtt) verifies the broker against the configured CA file, as the telemetry lane."""
    from edge.delivery.backoff import Backoff
    from edge.ingest.alarm_lane import AlarmLane
    from edge.ingest.mqtt import RawMessage

    received: asyncio.Queue[RawMessage] = asyncio.Queue()

    async def stored(message: RawMessage) -> bool:
        await received.put(message)
        return True

    async def v311() -> int:
        return 4  # MQTT 3.1.1

    lane = AlarmLane(
        endpoint=parse_mqtt_url(tls_url(district, f"{EDGE}:{GATEWAY_PASSWORD}@"), district.certs.ca),
        client_id="tls-gateway-alarms",
        topic_filters=[uplink_filter()],
        version=v311,
        keepalive_s=15,
        session_expiry_s=60,
        timeout_s=5.0,
        clock_ms=lambda: time.time_ns() // 1_000_000,
        backoff=Backoff(0.2, 1.0),
    )
    fleet = FleetTransport(
        tls_url(district),
        [DEVICE],
        on_downlink=lambda *_: None,
        presence_ts=lambda _i: None,
        credentials=district.secrets,
        ca_file=district.certs.ca,
    )
    async with asyncio.TaskGroup() as tasks:
        lanes = tasks.create_task(lane.run(stored))
        running = tasks.create_task(fleet.run())
        try:
            async with asyncio.timeout(20):
                await lane.subscribed.wait()
                await fleet.all_connected.wait()
                sos = SosPress(device_id=DEVICE, seq=8, ts=1_764_500_000_000)
                fleet.publish(0, WireMessage(uplink_topic(DEVICE, UplinkChannel.SOS), encode(sos), 1))
                while (message := await received.get()).topic != uplink_topic(DEVICE, UplinkChannel.SOS):
                    pass
            assert message.payload == encode(sos)
        finally:
            lanes.cancel()
            running.cancel()
