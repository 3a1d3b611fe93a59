"""A scripted scenario shows up as incidents, real at every hop.

Real Mosquitto, the real district center (``cloud.main.serve``, SQLite file, demo district), a real edge
gateway (``edge.main.run_gateway``) and the simulator (``firmware_sim`` run API) play a Monday morning at
1000× speed: a card goes silent, another card's holder presses SOS, a child walks out of the school fence
in school hours, an elder falls. The children's fences reach the center the way ``anxin demo`` puts
them there (from the simulator's fleet manifest). The test follows the operators' live stream until an
incident of each kind exists for the right device, then checks that nothing else fired for those devices.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_live import LiveIncidents

from anxin.demo import EDGE_ID, push_child_fences, sim_child_plans
from broker.runner import MosquittoBroker, free_port
from cloud.main import serve
from cloud.settings import CloudSettings
from edge.main import run_gateway
from edge.settings import EdgeSettings
from firmware_sim.groundtruth import read_ground_truth
from firmware_sim.models import AccelMode
from firmware_sim.runner import FleetRun, RunConfig
from firmware_sim.scenario import build_timeline, parse_scenario, scenario_fleet

PASSWORD = "scenario-operator-pass"
TOKEN = "scenario-edge-token-0123456789"
SEED = 7
SPEED = 1000.0  # a card is silent after 3 missed hourly heartbeats: 3 simulated hours ≈ 11 s
WAIT_S = 45.0

SCENARIO = {
    "name": "scripted-incidents",
    "start": "2026-03-02T09:00:00+08:00",  # a Monday, school hours (08:00–16:00)
    "duration": "8h",  # longer than the test runs: the test stops the fleet
    "fleet": {"counts": {"card": 3, "wearable": 2, "child": 2}},
    "events": [
        {"at": "+2m", "device": "card-0002", "kind": "silent"},
        {"at": "+5m", "subject": "D001", "kind": "sos"},
        {"at": "+10m", "subject": "C001", "kind": "fence_exit", "duration": "20m"},
        {"at": "+2h30m", "subject": "E001", "kind": "fall"},
    ],
}
# device -> (the incident kind it must raise, every kind it may raise)
EXPECTED: dict[str, tuple[str, frozenset[str]]] = {
    "card-0001": ("sos", frozenset({"sos"})),
    "card-0002": ("device", frozenset({"device"})),
    "kid-0001": ("geofence", frozenset({"geofence"})),
    # with accelerometer data only around triggers (events mode) the gateway sees little movement, and a
    # person lying on the floor is inactive: inactivity is a right answer for the fallen elder too
    "wear-0001": ("fall", frozenset({"fall", "inactivity"})),
}


@contextlib.asynccontextmanager
async def background(
    coro: Coroutine[Any, Any, Any], started: asyncio.Event, within_s: float
) -> AsyncIterator[None]:
    """Run ``coro`` until the block ends; fail if it stops (or does not start) early."""
    task = asyncio.create_task(coro)
    waiter = asyncio.create_task(started.wait())
    try:
        done, _ = await asyncio.wait({task, waiter}, timeout=within_s, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
            pytest.fail("a component stopped during start")
        assert waiter in done, "a component did not start in time"
        yield
    finally:
        waiter.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)


@pytest.mark.integration
async def test_scripted_fall_sos_fence_exit_and_silence_become_incidents(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    scenario = parse_scenario(SCENARIO)
    fleet = scenario_fleet(scenario)
    assert fleet is not None
    truth_file = tmp_path / "truth.jsonl"
    run = FleetRun(
        RunConfig(
            mqtt_url=mosquitto.url,
            fleet=fleet,
            seed=SEED,
            speed=SPEED,
            start_ms=scenario.start_ms,
            timeline=build_timeline(scenario, fleet, SEED),
            accel_mode=AccelMode.EVENTS,
            ground_truth=truth_file,
        )
    )
    port = free_port()
    cloud_url = f"http://127.0.0.1:{port}"
    cloud = CloudSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}",
        edge_tokens={EDGE_ID: TOKEN},
        operator_password=PASSWORD,
        session_secret="scenario-session-secret-0123456789",
        demo_data=True,
    )
    edge = EdgeSettings(
        edge_id=EDGE_ID,
        mqtt_url=mosquitto.url,
        cloud_url=cloud_url,
        cloud_token=TOKEN,
        data_dir=tmp_path / "edge",
        tick_s=0.25,  # 250 simulated seconds at 1000×
        backoff_initial_s=0.05,
        backoff_max_s=0.5,
    )
    cloud_up, edge_up, fleet_up = asyncio.Event(), asyncio.Event(), asyncio.Event()
    async with background(serve(cloud, host="127.0.0.1", port=port, started=cloud_up), cloud_up, 30):
        devices = [(d.device_id, d.kind) for d in fleet]
        plans = sim_child_plans(devices, SEED)
        assert sorted(plans) == ["kid-0001", "kid-0002"]
        await push_child_fences(cloud_url, PASSWORD, plans)
        async with (
            httpx.AsyncClient(base_url=cloud_url, timeout=10) as api,
            background(run_gateway(edge, started=edge_up), edge_up, 30),
        ):
            login = await api.post("/api/v1/auth/login", json={"username": "operator", "password": PASSWORD})
            login.raise_for_status()
            live = LiveIncidents(api)
            async with background(live.follow(), live.connected, 10):
                async with background(run.run(fleet_up), fleet_up, 30):
                    await live.wait_for(
                        lambda _seen: all(kind in live.kinds_of(d) for d, (kind, _) in EXPECTED.items()),
                        WAIT_S,
                    )
                listed = await api.get("/api/v1/incidents", params={"status": "all", "limit": 500})
                listed.raise_for_status()
                body = listed.json()
                incidents = list(body["items"] if isinstance(body, dict) else body)

    for device_id, (kind, allowed) in EXPECTED.items():
        kinds = {i["kind"] for i in incidents if i["device_id"] == device_id}
        assert kind in kinds, (device_id, kinds)
        assert kinds <= allowed, f"{device_id} raised {sorted(kinds - allowed)} as well"
    [fence] = [i for i in incidents if i["device_id"] == "kid-0001"]
    assert fence["severity"] == "P2"  # a fence exit, not only the way back in (P4)

    truth = {(t["device"], t["kind"]): t for t in read_ground_truth(truth_file)}
    assert {("card-0002", "device_silent"), ("card-0001", "sos"), ("wear-0001", "fall")} <= set(truth)
    assert truth[("kid-0001", "geofence_exit")]["detail"]["fence"] == "school"
