"""The gateway end to end: real Mosquitto, a real HTTP cloud stand-in, real SQLite files."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

import orjson
from edge_cloud_standin import CloudStandIn
from edge_testkit import BASE_TS, EDGE_ID, DeviceLink

from contracts import (
    AlarmReceived,
    EventKind,
    SosCancel,
    SosPress,
    Status,
    decode_downlink,
    downlink_topic,
    encode,
)
from edge.gateway import Gateway
from edge.settings import EdgeSettings
from tests.serving import serving


def sos(device_id: str, seq: int) -> bytes:
    return encode(SosPress(device_id=device_id, seq=seq, ts=BASE_TS + seq))


def low_battery(device_id: str, seq: int) -> bytes:
    return encode(Status(device_id=device_id, seq=seq, ts=BASE_TS + seq, battery_pct=8, low_battery=True))


def outbox_rows(gateway: Gateway) -> dict[str, str]:
    """Read the outbox file with a separate connection, as a crash-recovery tool would."""
    with sqlite3.connect(gateway.settings.database_path) as conn:
        return dict(conn.execute("SELECT key, status FROM outbox").fetchall())


async def test_sos_is_on_disk_before_the_device_gets_alarm_received(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    seen_on_disk: list[dict[str, str]] = []
    async with gateway_factory() as gateway:

        async def on_downlink(_topic: str, _payload: bytes) -> None:
            seen_on_disk.append(outbox_rows(gateway))

        device.on_downlink = on_downlink
        await device.listen("card-1")
        await device.publish("card-1", "sos", sos("card-1", 7))
        [(topic, payload)] = await device.wait_downlinks(1)
        assert topic == downlink_topic("card-1")
        ack = decode_downlink(payload)
        assert isinstance(ack, AlarmReceived)
        assert (ack.ref_seq, ack.incident_key) == (7, "card-1:7")
        assert "card-1:7" in seen_on_disk[0], "AlarmReceived was published before the row was on disk"
        await cloud.wait_for(lambda: "card-1:7" in cloud.stored_keys())
        [event] = cloud.events
        assert (event.kind, event.severity.value, event.edge_id) == (EventKind.SOS, "P1", EDGE_ID)


async def test_same_sos_twice_is_delivered_once_and_acknowledged_twice(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    async with gateway_factory() as gateway:
        await device.listen("card-1")
        await device.publish("card-1", "sos", sos("card-1", 3))
        await device.publish("card-1", "sos", sos("card-1", 3))
        downlinks = await device.wait_downlinks(2)
        assert {decode_downlink(p).incident_key for _, p in downlinks} == {"card-1:3"}  # type: ignore[union-attr]
        await gateway.wait_handled(2)
        assert gateway.rejected_count("replayed") == 1
        await cloud.wait_for(lambda: len(cloud.events) >= 1)
        # a later message proves the forwarder is past the repeat, then count deliveries
        await device.publish("card-2", "sos", sos("card-2", 1))
        await cloud.wait_for(lambda: "card-2:1" in cloud.stored_keys())
        assert cloud.stored_keys().count("card-1:3") == 1
        assert [k for k, _ in cloud.attempts].count("card-1:3") == 1


async def test_cloud_down_keeps_events_and_drains_in_priority_order(
    standin: CloudStandIn, cloud_port: int, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    standin.fail_with = 503
    async with serving(standin.app, port=cloud_port, graceful_s=1), gateway_factory() as gateway:
        await device.listen("card-1")
        await device.publish("card-2", "status", low_battery("card-2", 1))  # P4, first
        await standin.wait_for(lambda: ("card-2:1.low_battery", 503) in standin.attempts)
        await device.publish("card-1", "sos", sos("card-1", 1))  # P1, later
        await device.wait_downlinks(1)  # SOS still acknowledged while the cloud is down
        # the probe after the pause is the most urgent event
        await standin.wait_for(lambda: ("card-1:1", 503) in standin.attempts)
        assert standin.events == []
        assert set(outbox_rows(gateway).values()) == {"pending"}
        standin.fail_with = None
        await standin.wait_for(lambda: len(standin.events) == 2)
        assert standin.stored_keys() == ["card-1:1", "card-2:1.low_battery"]
        assert gateway.metrics.get_sample_value("anxin_edge_cloud_up") == 1


async def test_cloud_not_started_then_up_after_gateway_restart(
    standin: CloudStandIn, cloud_port: int, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    async with gateway_factory() as gateway:  # nothing listens on the cloud port
        await device.listen("card-1")
        await device.publish("card-1", "sos", sos("card-1", 11))
        await device.wait_downlinks(1)
        await gateway.wait_handled(1)
        assert outbox_rows(gateway) == {"card-1:11": "pending"}
    async with serving(standin.app, port=cloud_port, graceful_s=1), gateway_factory() as gateway:
        await standin.wait_for(lambda: "card-1:11" in standin.stored_keys())
        await gateway.wait_delivered("card-1:11")
        assert outbox_rows(gateway) == {"card-1:11": "delivered"}


async def test_bad_inputs_are_counted_by_reason_and_a_good_device_is_served_next(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    async with gateway_factory() as gateway:
        await device.listen("card-1")
        good = sos("card-1", 5)
        await device.publish("card-1", "sos", good)  # seq 5 accepted first, then replayed below
        await device.wait_downlinks(1)
        bad: list[tuple[str, bytes, str]] = [
            ("anxin/v1/up/card-1/sos", b"{not json", "bad_json"),
            (
                "anxin/v1/up/card-1/sos",
                orjson.dumps({**orjson.loads(good), "v": 99, "seq": 6}),
                "bad_version",
            ),
            ("anxin/v1/up/card-1/sos", b"{" + b" " * 20_000 + b"}", "too_large"),
            ("anxin/v1/up/card-1/sos", orjson.dumps({**orjson.loads(good), "seq": -1}), "invalid"),
            (
                "anxin/v1/up/card-1/sos",
                orjson.dumps({**orjson.loads(good), "device_id": "card-2"}),
                "device_mismatch",
            ),
            ("anxin/v1/up/stranger-9/sos", sos("stranger-9", 1), "unknown_device"),
            ("anxin/v1/up/card-1/sos", good, "replayed"),
            ("anxin/v1/up/card-1/nonsense", good, "bad_topic"),
        ]
        for topic, payload, _ in bad:
            await device.publish_raw(topic, payload)
        await gateway.wait_handled(1 + len(bad))
        for _, _, reason in bad:
            assert gateway.rejected_count(reason) == 1, reason
        await device.publish("card-1", "sos", sos("card-1", 6))
        await cloud.wait_for(lambda: "card-1:6" in cloud.stored_keys())
        assert cloud.stored_keys() == ["card-1:5", "card-1:6"]


async def test_sos_cancel_refers_to_the_alarm(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    async with gateway_factory():
        await device.publish("wear-1", "sos", sos("wear-1", 1))
        cancel = encode(SosCancel(device_id="wear-1", seq=2, ts=BASE_TS + 2, ref_seq=1))
        await device.publish("wear-1", "sos", cancel)
        await cloud.wait_for(lambda: len(cloud.events) == 2)
        assert cloud.events[1].kind is EventKind.SOS_CANCEL
        assert cloud.events[1].ref_key == "wear-1:1"


async def test_command_from_the_stream_reaches_the_device_and_is_acked(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    from contracts import EdgeCommand, OperatorAcknowledged

    async with gateway_factory() as gateway:
        await device.listen("card-1")
        await asyncio.wait_for(gateway.commands.connected.wait(), 10)
        downlink = OperatorAcknowledged(
            device_id="card-1", ts=BASE_TS, ref_seq=7, incident_key="card-1:7", operator="op-03", eta_min=8
        )
        await cloud.add_command(EdgeCommand(id=41, edge_id=EDGE_ID, device_id="card-1", downlink=downlink))
        [(topic, payload)] = await device.wait_downlinks(1)
        assert topic == downlink_topic("card-1")
        assert decode_downlink(payload) == downlink
        await cloud.wait_for(lambda: cloud.acks == [41])


async def test_registry_is_cached_for_a_restart_with_the_cloud_down(
    standin: CloudStandIn, cloud_port: int, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    async with serving(standin.app, port=cloud_port, graceful_s=1), gateway_factory() as gateway:
        assert gateway.registry.knows("card-1")
    async with gateway_factory() as gateway:  # cloud down now
        assert gateway.registry.loaded and gateway.registry.knows("card-1")
        await device.publish("stranger-1", "sos", sos("stranger-1", 1))
        await device.publish("card-1", "sos", sos("card-1", 1))
        await gateway.wait_handled(2)
        assert gateway.rejected_count("unknown_device") == 1
        assert outbox_rows(gateway) == {"card-1:1": "pending"}


async def test_without_any_snapshot_devices_are_accepted(
    standin: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    async with gateway_factory() as gateway:  # cloud down, no cache: accept, warn once
        assert not gateway.registry.loaded
        await device.publish("stranger-1", "sos", sos("stranger-1", 1))
        await gateway.wait_handled(1)
        assert gateway.rejected_count("unknown_device") == 0
        assert "stranger-1:1" in outbox_rows(gateway)


def test_settings_refuse_placeholder_token(make_settings: Callable[..., EdgeSettings]) -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="placeholder"):
        make_settings(cloud_token="changeme")


async def test_an_event_the_cloud_refuses_is_parked_not_retried(
    cloud: CloudStandIn, gateway_factory: Callable[..., Any], device: DeviceLink
) -> None:
    cloud.fail_with = 422
    async with gateway_factory() as gateway:
        await device.publish("card-1", "sos", sos("card-1", 1))
        await gateway.wait_outbox_status("card-1:1", "rejected")
        cloud.fail_with = None
        await device.publish("card-2", "sos", sos("card-2", 1))
        await gateway.wait_delivered("card-2:1")
        assert cloud.attempts == [("card-1:1", 422), ("card-2:1", 201)]
        with sqlite3.connect(gateway.settings.database_path) as conn:
            [(error,)] = conn.execute("SELECT error FROM outbox WHERE key = 'card-1:1'").fetchall()
        assert "422" in error
