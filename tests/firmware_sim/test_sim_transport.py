"""The transport against a real Mosquitto: sessions, QoS 1 across broker restarts, downlinks, faults."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiomqtt
import pytest

from broker.runner import MosquittoBroker, start_mosquitto
from contracts import (
    AlarmClosed,
    AlarmReceived,
    DeviceKind,
    OperatorAcknowledged,
    Presence,
    SosPress,
    decode_uplink,
    downlink_topic,
    encode,
    uplink_filter,
)
from firmware_sim.faults import WireMessage
from firmware_sim.fleet import DeviceSpec, fleet_from_mix
from firmware_sim.models import AccelMode, DisplayState
from firmware_sim.runner import FleetRun, RunConfig, run_fleet
from firmware_sim.scenario import TimelineEvent
from firmware_sim.transport import FleetTransport

pytestmark = pytest.mark.integration

START_MS = 1_772_416_800_000


class Inbox:
    """Every uplink seen by a subscriber; ``wait_for(pred)`` waits on a condition, never sleeps."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._changed = asyncio.Condition()

    async def add(self, topic: str, payload: bytes) -> None:
        async with self._changed:
            self.messages.append((topic, payload))
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], within_s: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), within_s)

    def decoded(self) -> list[object]:
        return [decode_uplink(t, p) for t, p in self.messages if not t.endswith("/presence")]


@contextlib.asynccontextmanager
async def subscriber(
    broker: MosquittoBroker, identifier: str = "test-sub", clean: bool = True
) -> AsyncIterator[Inbox]:
    inbox = Inbox()
    async with aiomqtt.Client(
        broker.host, broker.port, identifier=identifier, clean_session=clean, timeout=10
    ) as client:
        await client.subscribe(uplink_filter(), qos=1)

        async def pump() -> None:
            async for message in client.messages:
                await inbox.add(str(message.topic), bytes(message.payload))

        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(pump())
            try:
                yield inbox
            finally:
                task.cancel()


async def wait_until(event: asyncio.Event, predicate: Callable[[], bool], within_s: float = 10.0) -> None:
    async def loop() -> None:
        while not predicate():
            event.clear()
            await event.wait()

    await asyncio.wait_for(loop(), within_s)


def config_for(broker: MosquittoBroker, fleet: list[DeviceSpec], **kwargs: object) -> RunConfig:
    return RunConfig(mqtt_url=broker.url, fleet=fleet, seed=1, start_ms=START_MS, **kwargs)  # type: ignore[arg-type]


async def test_devices_connect_and_publish_valid_messages(mosquitto: MosquittoBroker) -> None:
    fleet = fleet_from_mix(30)
    async with subscriber(mosquitto) as inbox:
        run = FleetRun(config_for(mosquitto, fleet, speed=60.0, duration_s=120.0, accel_mode=AccelMode.FULL))
        result = await asyncio.wait_for(run.run(), 30)
        await inbox.wait_for(lambda: len(inbox.messages) >= result.messages)
    assert result.stats.connects == 30 and result.stats.errors == 0
    messages = inbox.decoded()
    assert {m.type for m in messages} >= {"accel", "vitals", "status", "location"}  # type: ignore[attr-defined]
    presences = [decode_uplink(t, p) for t, p in inbox.messages if t.endswith("/presence")]
    assert {p.device_id for p in presences if isinstance(p, Presence) and p.online} == {
        d.device_id for d in fleet
    }


async def test_card_shows_help_is_coming_after_downlinks(mosquitto: MosquittoBroker) -> None:
    fleet = [DeviceSpec("card-0001", DeviceKind.SOS_CARD, "D001")]
    run = FleetRun(config_for(mosquitto, fleet))
    started = asyncio.Event()
    card = run.sim.devices[0]
    async with subscriber(mosquitto) as inbox, asyncio.TaskGroup() as tg:
        task = tg.create_task(run.run(started))
        await asyncio.wait_for(started.wait(), 10)
        run.sim.schedule(TimelineEvent(run.now_ms(), 0, 0, "sos"))
        await inbox.wait_for(lambda: any(isinstance(m, SosPress) for m in inbox.decoded()))
        sos = next(m for m in inbox.decoded() if isinstance(m, SosPress))
        assert card.display is DisplayState.ALARM_SENT
        ref = {"device_id": "card-0001", "ts": START_MS, "ref_seq": sos.seq, "incident_key": sos.key}
        async with aiomqtt.Client(mosquitto.host, mosquitto.port, identifier="edge-test") as edge:
            await edge.publish(downlink_topic("card-0001"), encode(AlarmReceived(**ref)), qos=1)
            await wait_until(run.downlink_applied, lambda: card.display is DisplayState.ALARM_RECEIVED)
            ack = OperatorAcknowledged(**ref, operator="op-07", eta_min=12)
            await edge.publish(downlink_topic("card-0001"), encode(ack), qos=1)
            await wait_until(run.downlink_applied, lambda: card.display is DisplayState.HELP_COMING)
            assert card.display_text_zh == "已收到求助，救助人员正在赶来"
            await edge.publish(downlink_topic("card-0001"), b"{not json", qos=1)
            await edge.publish(
                downlink_topic("card-0001"), encode(AlarmClosed(**ref, outcome="resolved")), qos=1
            )
            await wait_until(run.downlink_applied, lambda: card.display is DisplayState.IDLE)
        assert run.bad_downlinks == 1
        task.cancel()


async def test_sos_pressed_while_the_broker_is_down_arrives_after_restart(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    port, workdir = mosquitto.port, mosquitto.workdir
    sos = SosPress(device_id="card-0001", seq=7, ts=START_MS)
    wire = WireMessage("anxin/v1/up/card-0001/sos", encode(sos), 1)
    connected = asyncio.Event()
    transport = FleetTransport(
        mosquitto.url, ["card-0001"], on_downlink=lambda *_: None, presence_ts=lambda _: None
    )
    link = transport.links[0]
    # a persistent subscriber session (the gateway) that the restarted broker restores from disk
    async with subscriber(mosquitto, identifier="gateway", clean=False):
        pass
    broker = mosquitto
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(transport.run())
        await asyncio.wait_for(transport.all_connected.wait(), 10)
        broker.stop()
        await asyncio.wait_for(link.closed.wait(), 10)
        transport.publish(0, wire)  # the button is pressed in the outage
        assert list(link.queue) == [wire]
        broker = start_mosquitto(port=port, workdir=workdir)
        try:
            async with subscriber(broker, identifier="gateway", clean=False) as inbox:
                await inbox.wait_for(lambda: any(t.endswith("/sos") for t, _ in inbox.messages), 20)
                assert [p for t, p in inbox.messages if t.endswith("/sos")] == [wire.payload]
                connected.set()
            assert transport.stats.reconnects >= 1 and not link.queue
            await asyncio.wait_for(_no_pending(transport), 10)
        finally:
            task.cancel()
            broker.stop()
    assert connected.is_set()


async def _no_pending(transport: FleetTransport) -> None:
    while transport.unacknowledged():
        transport.acked.clear()
        await transport.acked.wait()


async def test_offline_fault_fires_the_will_and_comes_back(mosquitto: MosquittoBroker) -> None:
    fleet = fleet_from_mix(3)
    timeline = [
        TimelineEvent(START_MS + 1_000, 0, 0, "offline"),
        TimelineEvent(START_MS + 20_000, 1, 0, "_online", truth=False),
    ]
    async with subscriber(mosquitto) as inbox:
        run = FleetRun(config_for(mosquitto, fleet, speed=20.0, duration_s=40.0, timeline=timeline))
        result = await asyncio.wait_for(run.run(), 30)
        await inbox.wait_for(lambda: len(inbox.messages) >= result.messages)
    presence = [
        p.online
        for t, p in ((t, decode_uplink(t, p)) for t, p in inbox.messages if t.endswith("/presence"))
        if isinstance(p, Presence) and p.device_id == fleet[0].device_id
    ]
    assert presence[:3] == [True, False, True]  # online, the will (offline), online again
    assert result.stats.reconnects == 1


async def test_run_fleet_for_the_demo_presses_sos(mosquitto: MosquittoBroker) -> None:
    devices = [("card-0001", DeviceKind.SOS_CARD), ("wear-0001", DeviceKind.WEARABLE)]
    started = asyncio.Event()
    async with subscriber(mosquitto) as inbox, asyncio.TaskGroup() as tg:
        task = tg.create_task(
            run_fleet(
                mqtt_url=mosquitto.url,
                devices=devices,
                seed=1,
                speed=60.0,
                sos_every_s=30.0,
                ground_truth=None,
                started=started,
            )
        )
        await asyncio.wait_for(started.wait(), 10)
        await inbox.wait_for(lambda: sum(t.endswith("/sos") for t, _ in inbox.messages) >= 2, 15)
        task.cancel()


async def test_500_devices_publish_at_nominal_rates(mosquitto: MosquittoBroker) -> None:
    fleet = fleet_from_mix(500)
    async with subscriber(mosquitto) as inbox:
        run = FleetRun(config_for(mosquitto, fleet, speed=1.0, duration_s=3.0))
        result = await asyncio.wait_for(run.run(), 60)
        await inbox.wait_for(lambda: len(inbox.messages) >= result.messages + 500, 20)
    assert result.stats.connects == 500 and result.stats.errors == 0
    accel = sum(t.endswith("/accel") for t, _ in inbox.messages)
    assert accel >= 200 * 2  # 200 wearables × 1 batch/s for 3 s, minus the first partial second
