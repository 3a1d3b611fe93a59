"""Transport details: MQTT 3.1.1 fallback (amqtt), shared subscriptions, /metrics, the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiomqtt
import httpx
from edge_cloud_standin import CloudStandIn
from edge_testkit import BASE_TS, DeviceLink

from broker.runner import AmqttBroker, free_port
from contracts import SosPress, encode, uplink_topic
from edge.main import register


def sos(device_id: str, seq: int) -> bytes:
    return encode(SosPress(device_id=device_id, seq=seq, ts=BASE_TS + seq))


async def test_falls_back_to_mqtt_311_when_the_broker_refuses_5(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], amqtt_broker: AmqttBroker
) -> None:
    async with gateway_factory(mqtt_url=amqtt_broker.url, mqtt_timeout_s=1.0) as gateway:
        assert gateway.ingest.version == 4  # paho's MQTTv311
        async with aiomqtt.Client(amqtt_broker.host, amqtt_broker.port, identifier="dev-311") as client:
            await client.publish(uplink_topic("card-1", "sos"), sos("card-1", 1), qos=1)
        await cloud.wait_for(lambda: "card-1:1" in cloud.stored_keys())


async def test_shared_subscription_splits_the_load_between_two_gateways(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink, tmp_path: Any
) -> None:
    async with (
        gateway_factory(shared_group="edge", mqtt_client_id="edge-w1", data_dir=tmp_path / "w1") as one,
        gateway_factory(shared_group="edge", mqtt_client_id="edge-w2", data_dir=tmp_path / "w2") as two,
    ):
        for seq in range(1, 21):
            await device.publish("card-1", "sos", sos("card-1", seq))
        await cloud.wait_for(lambda: len(cloud.events) == 20)
        handled = (one.accepted_count("sos"), two.accepted_count("sos"))
        assert sum(handled) == 20 and min(handled) > 0, handled


async def test_metrics_endpoint_serves_the_gateway_registry(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    port = free_port()
    async with gateway_factory(metrics_port=port) as gateway:
        await device.publish_raw("anxin/v1/up/card-1/sos", b"{oops")
        await gateway.wait_handled(1)
        async with httpx.AsyncClient(timeout=5) as client:
            page = await client.get(f"http://127.0.0.1:{port}/metrics")
            missing = await client.get(f"http://127.0.0.1:{port}/nope")
    assert page.status_code == 200 and missing.status_code == 404
    assert 'anxin_edge_rejected_total{reason="bad_json"} 1.0' in page.text
    assert "anxin_edge_outbox_pending" in page.text


def test_cli_has_a_flag_for_every_setting() -> None:
    import argparse

    from edge.settings import EdgeSettings

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(
        ["edge", "--cloud-token", "t0k3n-real", "--metrics-port", "9100", "--accept-unknown-devices"]
    )
    assert (args.cloud_token, args.metrics_port, args.accept_unknown_devices) == ("t0k3n-real", 9100, True)
    for name in EdgeSettings.model_fields:
        assert hasattr(args, name), name


async def test_handler_keeps_going_after_many_bad_messages(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    async with gateway_factory() as gateway:
        await asyncio.gather(*(device.publish_raw("anxin/v1/up/card-1/sos", b"[]") for _ in range(200)))
        await device.publish("card-1", "sos", sos("card-1", 1))
        await cloud.wait_for(lambda: "card-1:1" in cloud.stored_keys())
        await gateway.wait_handled(201)
        assert gateway.rejected_count("bad_json") == 200
