"""Fault: ``kill -9`` of Mosquitto in the middle of a burst of SOS presses loses no alarm.

Real parts only: a real ``mosquitto`` (the project's config, persistence on), 200 simulated SOS cards
(``firmware_sim``: real MQTT clients with persistent sessions, repeating each SOS until
``alarm_received``), the real gateway and the cloud stand-in on real HTTP. The broker is killed with
SIGKILL once the gateway has taken about a third of the presses, and restarted on the same port and data
folder. Every press must then reach the cloud exactly once and every card must show "alarm received".
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import pytest
from edge_cloud_standin import CloudStandIn
from edge_testkit import EDGE_ID, registry_of

from broker.runner import MosquittoBroker, start_mosquitto
from contracts import DeviceKind
from firmware_sim.fleet import fleet_from_counts
from firmware_sim.models import DisplayState
from firmware_sim.runner import FleetRun, RunConfig
from firmware_sim.scenario import TimelineEvent

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]

CARDS = 200
PRESS_SPREAD_MS = 3_000
FLEET = fleet_from_counts({DeviceKind.SOS_CARD: CARDS})


@pytest.fixture
def standin() -> CloudStandIn:
    return CloudStandIn(EDGE_ID, registry_of(*(d.device_id for d in FLEET)))


def _fleet_run(mosquitto: MosquittoBroker) -> FleetRun:
    """Every card presses SOS once, spread over ``PRESS_SPREAD_MS`` from 1 s after the start."""
    start_ms = int(time.time() * 1000)
    timeline = [
        TimelineEvent(start_ms + 1_000 + i * PRESS_SPREAD_MS // CARDS, i, i, "sos") for i in range(CARDS)
    ]
    return FleetRun(
        RunConfig(mqtt_url=mosquitto.url, fleet=FLEET, seed=7, start_ms=start_ms, timeline=timeline)
    )


def _pressed(run: FleetRun) -> set[tuple[str, int]]:
    return {(dev.device_id, seq) for dev in run.sim.devices for seq in dev.open_alarms}


def _all_confirmed(run: FleetRun) -> bool:
    devices = run.sim.devices
    return all(d.display is DisplayState.ALARM_RECEIVED and not d.unconfirmed for d in devices)


async def _wait(run: FleetRun, predicate: Callable[[], bool], within_s: float) -> bool:
    """Wait (on the downlinks the fleet receives) until ``predicate`` holds; False after ``within_s``."""
    deadline = time.monotonic() + within_s
    while not predicate():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        run.downlink_applied.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.downlink_applied.wait(), min(left, 0.5))
    return True


async def test_kill_9_of_the_broker_during_an_sos_burst_loses_no_alarm(
    mosquitto: MosquittoBroker, cloud: CloudStandIn, gateway_factory: Callable[..., Any]
) -> None:
    run = _fleet_run(mosquitto)
    restarted: MosquittoBroker | None = None
    async with gateway_factory() as gateway:
        sim = asyncio.create_task(run.run())
        try:
            async with asyncio.timeout(60):
                while gateway.accepted_count("sos") < CARDS // 3:
                    await gateway.wait_handled(gateway.handled + 1, within_s=60)
            mosquitto.process.kill()  # SIGKILL: no chance to save anything
            mosquitto.process.wait(5)
            restarted = start_mosquitto(mosquitto.port, workdir=mosquitto.workdir)
            confirmed = await _wait(run, lambda: len(_pressed(run)) == CARDS and _all_confirmed(run), 60)
            waiting = sum(len(d.unconfirmed) for d in run.sim.devices)
            assert confirmed, (
                f"{waiting} of {len(_pressed(run))} SOS never confirmed after the broker restart"
            )
            pressed = _pressed(run)
            await cloud.wait_for(lambda: len(cloud.events) >= CARDS, within_s=30)
        finally:
            sim.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sim
            if restarted is not None:
                restarted.stop()
    at_center = [(e.device_id, e.seq) for e in cloud.events]
    assert sorted(at_center) == sorted(pressed)  # 0 lost, 0 duplicated at the center
    with sqlite3.connect(gateway.settings.database_path) as conn:
        query = "SELECT device_id, json_extract(body, '$.seq') FROM outbox WHERE kind = 'sos'"
        stored = conn.execute(query).fetchall()
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert sorted(stored) == sorted(pressed)  # and once each in the gateway's outbox
