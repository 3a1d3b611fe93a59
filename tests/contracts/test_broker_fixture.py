"""The broker fixtures really carry MQTT messages (paho client against both brokers)."""

from __future__ import annotations

import asyncio
import threading

import paho.mqtt.client as mqtt

from broker.runner import AmqttBroker, MosquittoBroker


def _roundtrip(host: str, port: int) -> bytes:
    got = threading.Event()
    received: list[bytes] = []
    subscribed = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        received.append(msg.payload)
        got.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fixture-test")
    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect(host, port)
    client.loop_start()
    try:
        client.subscribe("anxin/v1/up/+/+", qos=1)
        assert subscribed.wait(5)
        client.publish("anxin/v1/up/card-1/status", b"hello", qos=1).wait_for_publish(5)
        assert got.wait(5), "message did not come back through the broker"
    finally:
        client.loop_stop()
        client.disconnect()
    return received[0]


def test_mosquitto_fixture_carries_messages(mosquitto: MosquittoBroker) -> None:
    assert _roundtrip(mosquitto.host, mosquitto.port) == b"hello"


async def test_amqtt_fixture_carries_messages(amqtt_broker: AmqttBroker) -> None:
    payload = await asyncio.to_thread(_roundtrip, amqtt_broker.host, amqtt_broker.port)
    assert payload == b"hello"
