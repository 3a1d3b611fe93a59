"""``anxin demo``: the whole system on embedded defaults, in one process.

Broker (the ``mosquitto`` binary when installed, else amqtt in-process, or an external one from
``ANXIN_MQTT_URL``), the district center (cloud) on 127.0.0.1, one edge gateway, and a small simulated
fleet that presses SOS now and then. Ctrl-C stops everything cleanly.

The demo's own broker runs as production does: every demo device gets a secret from the registry and logs
in as itself, the gateway has its own account, and the files come from ``anxin broker sync`` — so a
forged uplink for another device is refused here too. An external broker (``--mqtt-url``) is used as is.

Before the gateway starts, the simulated children's home and school (the simulator's fleet manifest) are
written into their care plans at the center (``PUT /api/v1/subjects/{id}/care-plan``), so the fences the
gateway watches are where the simulated children live.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from broker.runner import (
    AmqttBroker,
    BrokerAuth,
    BrokerError,
    free_port,
    mosquitto_binary,
    port_is_free,
    start_mosquitto,
)
from cloud.private_files import private_dir
from contracts.topics import UplinkChannel, uplink_topic

log = logging.getLogger(__name__)

EDGE_ID = "edge-xiqing-01"
AMQTT_COMFORT_MSG_S = 1_000
FIRST_SOS_S = 3.0  # a newcomer sees an alarm in the console within seconds of start
API_TIMEOUT_S = 10.0
CREDENTIALS_FILE = "credentials.json"  # the simulated devices' broker secrets (0600)


@dataclass(frozen=True)
class DemoConfig:
    http_port: int
    mqtt_port: int | None
    mqtt_url: str | None
    devices: int
    operator_password: str
    data_dir: Path
    keep_data: bool
    seed: int
    sos_every_s: float
    broker: str  # auto | mosquitto | amqtt


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def uses_mosquitto(config: DemoConfig) -> bool:
    """Whether the demo starts its own ``mosquitto`` (else amqtt in-process, or an external broker)."""
    if config.mqtt_url:
        return False
    return config.broker == "mosquitto" or (config.broker == "auto" and mosquitto_binary() is not None)


def starts_own_broker(config: DemoConfig) -> bool:
    """The demo's own broker (Mosquitto or amqtt) runs with per-device logins and the ACL."""
    return not config.mqtt_url


@dataclass(frozen=True)
class DemoLogins:
    """The broker logins of a demo run: the gateway's, and every device's (``credentials.json``)."""

    gateway_password: str
    devices: dict[str, str]
    auth: BrokerAuth


async def provision_logins(config: DemoConfig, cloud_db_url: str) -> DemoLogins:
    """Give every demo device a secret (as provisioning would) and write Mosquitto's files from the
    registry, exactly as ``anxin broker sync`` does in production."""
    from anxin.broker_sync import sync_broker_files

    gateway_password = secrets.token_urlsafe(24)
    credentials = config.data_dir / CREDENTIALS_FILE
    result = await sync_broker_files(
        database_url=cloud_db_url,
        gateways={EDGE_ID: gateway_password},
        out_dir=config.data_dir / "broker",
        issue_missing_to=credentials,
    )
    devices: dict[str, str] = json.loads(credentials.read_text(encoding="utf-8"))
    return DemoLogins(gateway_password, devices, BrokerAuth(result.password_file, result.acl_file))


@contextlib.asynccontextmanager
async def embedded_broker(config: DemoConfig, auth: BrokerAuth | None = None) -> AsyncIterator[str]:
    """Yield the MQTT URL of the broker the demo uses, starting one when needed."""
    if config.mqtt_url:
        _say(f"  MQTT 代理 broker: external {config.mqtt_url}")
        yield config.mqtt_url
        return
    port = config.mqtt_port or (1883 if port_is_free(1883) else free_port())
    if uses_mosquitto(config):
        broker = start_mosquitto(port, workdir=config.data_dir / "mosquitto", auth=auth)
        try:
            yield broker.url
        finally:
            broker.stop()
        return
    from anxin.amqtt_auth import amqtt_plugins

    plugins = amqtt_plugins(auth.password_file, [EDGE_ID]) if auth is not None else None
    rate = config.devices * 2  # wearables send ~1 accel batch + telemetry per second
    if rate > AMQTT_COMFORT_MSG_S:
        log.warning(
            "demo.amqtt_overload devices=%d est_msg_s=%d: amqtt buffers without bound above ~1k msg/s; "
            "install mosquitto (apt-get install mosquitto) for larger fleets",
            config.devices,
            rate,
        )
    embedded = AmqttBroker(port, plugins=plugins)
    await embedded.start()
    try:
        yield embedded.url
    finally:
        await embedded.stop()


async def run_demo(config: DemoConfig, *, ready: asyncio.Event | None = None) -> None:
    """Run broker, cloud, edge and fleet until cancelled."""
    from cloud.main import serve
    from cloud.registry.demo import demo_devices
    from cloud.settings import CloudSettings
    from edge.main import run_gateway
    from edge.settings import EdgeSettings

    if config.data_dir.exists() and not config.keep_data:
        shutil.rmtree(config.data_dir)
    private_dir(config.data_dir)  # databases, logins and telemetry of the demo: 0700
    edge_token = secrets.token_urlsafe(24)
    cloud_url = f"http://127.0.0.1:{config.http_port}"
    cloud_settings = CloudSettings(
        database_url=f"sqlite+aiosqlite:///{config.data_dir / 'cloud.db'}",
        edge_tokens={EDGE_ID: edge_token},
        operator_password=config.operator_password,
        session_secret=secrets.token_urlsafe(32),
        demo_data=True,
        public_url=cloud_url,
        api_docs=True,
    )
    cloud_started, edge_started, fleet_started = asyncio.Event(), asyncio.Event(), asyncio.Event()
    # the broker outlives the task group: it stops after the gateway and the fleet have
    async with contextlib.AsyncExitStack() as broker_scope, asyncio.TaskGroup() as tasks:
        tasks.create_task(
            serve(cloud_settings, host="127.0.0.1", port=config.http_port, started=cloud_started)
        )
        await asyncio.wait_for(cloud_started.wait(), 30)
        logins = (
            await provision_logins(config, cloud_settings.database_url) if starts_own_broker(config) else None
        )
        mqtt_url = await broker_scope.enter_async_context(
            embedded_broker(config, logins.auth if logins else None)
        )
        edge_settings = EdgeSettings(
            edge_id=EDGE_ID,
            mqtt_url=_with_login(mqtt_url, EDGE_ID, logins.gateway_password) if logins else mqtt_url,
            cloud_url=cloud_url,
            cloud_token=edge_token,
            data_dir=config.data_dir / "edge",
            metrics_port=free_port(),
        )
        fleet = _pick_fleet(demo_devices(), config.devices)
        await push_child_fences(cloud_url, config.operator_password, sim_child_plans(fleet, config.seed))
        tasks.create_task(run_gateway(edge_settings, started=edge_started))
        await asyncio.wait_for(edge_started.wait(), 30)
        if config.devices > 0:
            from firmware_sim.runner import run_fleet

            tasks.create_task(
                run_fleet(
                    mqtt_url=mqtt_url,
                    devices=fleet,
                    seed=config.seed,
                    speed=1.0,
                    sos_every_s=config.sos_every_s,
                    ground_truth=config.data_dir / "ground-truth.jsonl",
                    started=fleet_started,
                    first_sos_s=FIRST_SOS_S,
                    credentials=logins.devices if logins else None,
                )
            )
            await asyncio.wait_for(fleet_started.wait(), 60)
        _banner(config, mqtt_url, cloud_url, edge_settings.metrics_port, logins is not None)
        if ready is not None:
            ready.set()


def sim_child_plans(devices: list[Any], seed: int) -> dict[str, Any]:
    """Care plans (``cloud.registry.care_plan.CarePlan``) for the simulated child monitors among
    ``devices``: 家 and 学校 where the simulator (same ``seed``) puts each child's home and school."""
    from cloud.registry.demo import child_care_plan
    from firmware_sim.manifest import fleet_manifest
    from firmware_sim.runner import RunConfig, fleet_of

    manifest = fleet_manifest(RunConfig(mqtt_url="mqtt://unused", fleet=fleet_of(devices), seed=seed))
    plans: dict[str, Any] = {}
    for entry in manifest["devices"]:
        fences = {f["name"]: f for f in entry.get("fences", ())}
        if "home" in fences and "school" in fences:
            home, school = fences["home"], fences["school"]
            plans[entry["device_id"]] = child_care_plan(
                (home["lat"], home["lon"]),
                (school["lat"], school["lon"]),
                home_radius_m=home["radius_m"],
                school_radius_m=school["radius_m"],
                school_hours=tuple(entry["school_hours"]),
            )
    return plans


async def push_child_fences(cloud_url: str, password: str, plans: dict[str, Any]) -> None:
    """PUT each device's plan on its subject at the center (as the operator); raises on any failure."""
    if not plans:
        return
    async with httpx.AsyncClient(base_url=cloud_url, timeout=API_TIMEOUT_S) as api:
        login = await api.post("/api/v1/auth/login", json={"username": "operator", "password": password})
        login.raise_for_status()
        listed = await api.get("/api/v1/devices", params={"edge_id": EDGE_ID, "limit": 500})
        listed.raise_for_status()
        subject_of = {d["device_id"]: d["subject_id"] for d in listed.json()}
        for device_id, plan in plans.items():
            if device_id not in subject_of:
                continue  # not registered at the center: the gateway will not serve it anyway
            answer = await api.put(
                f"/api/v1/subjects/{subject_of[device_id]}/care-plan", json=plan.model_dump(mode="json")
            )
            answer.raise_for_status()
            log.info("demo.care_plan_set device=%s fences=%d", device_id, len(plan.fences))


def _pick_fleet(devices: list[Any], count: int) -> list[Any]:
    """Take ``count`` demo devices, interleaving kinds so a small fleet has cards, wearables and a child."""
    by_kind: dict[str, list[Any]] = {}
    for device in devices:
        by_kind.setdefault(str(device[1]), []).append(device)
    picked: list[Any] = []
    while len(picked) < count and any(by_kind.values()):
        for group in by_kind.values():
            if group and len(picked) < count:
                picked.append(group.pop(0))
    return picked


def _with_login(url: str, username: str, password: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{quote(username, safe='')}:{quote(password, safe='')}@{parts.netloc}"


def _banner(config: DemoConfig, mqtt_url: str, cloud_url: str, metrics_port: int, logins: bool) -> None:
    broker = urlsplit(mqtt_url)
    login = ""
    if logins:
        login = f"-u card-0001 -P <card-0001 in {CREDENTIALS_FILE}> "
    _say(
        "\n"
        "安心 Anxin demo is running — 演示系统已启动\n"
        f"  操作台 Operator console : {cloud_url}/console\n"
        f"  登录 Logins (password {config.operator_password}):\n"
        "      operator   管理员 admin, all streets (账号管理 /console/admin)\n"
        "      supervisor 值班主任 supervisor, all streets\n"
        "      op-all     接警员 operator, all streets\n"
        "      op-two     接警员 operator, 西营门 + 李七庄 only\n"
        f"  统计报表 Reports         : {cloud_url}/console/reports\n"
        f"  家属手机 Guardian phones: {cloud_url}/dev/phones\n"
        f"  事件 API Incidents API  : {cloud_url}/api/v1/incidents (log in first, see docs/api.md)\n"
        f"  网关指标 Gateway metrics: http://127.0.0.1:{metrics_port}/metrics\n"
        f"  MQTT 代理 Broker        : {broker.hostname} port {broker.port}\n"
        f"  模拟设备 Simulated fleet: {config.devices} devices (SOS about every {config.sos_every_s:.0f} s)\n"
        + (
            f"  设备登录 Device logins : {config.data_dir / CREDENTIALS_FILE} (username = device id; "
            "anonymous and cross-device publishes are refused)\n"
            if logins
            else "  设备登录 Device logins : none (this broker is anonymous)\n"
        )
        + f"  Try: mosquitto_pub -p {broker.port} {login}-q 1 "
        f"-t {uplink_topic('card-0001', UplinkChannel.SOS)} "
        """-m '{"v":1,"device_id":"card-0001","seq":101,"ts":1764513600000,"type":"sos"}'\n"""
        "  Ctrl-C 停止 stops everything.\n"
    )


def _run(args: argparse.Namespace) -> int:
    password = args.operator_password or secrets.token_urlsafe(9)
    config = DemoConfig(
        http_port=args.http_port or free_port(),  # 0: any free port (the banner prints it)
        mqtt_port=args.mqtt_port,
        mqtt_url=args.mqtt_url or os.environ.get("ANXIN_MQTT_URL"),
        devices=args.devices,
        operator_password=password,
        data_dir=Path(args.data_dir),
        keep_data=args.keep_data,
        seed=args.seed,
        sos_every_s=args.sos_every,
        broker=args.broker,
    )
    if not port_is_free(config.http_port):
        _say(f"anxin demo: port {config.http_port} is in use; choose another with --http-port")
        return 2
    if config.mqtt_port and not config.mqtt_url and not port_is_free(config.mqtt_port):
        _say(f"anxin demo: MQTT port {config.mqtt_port} is in use; choose another with --mqtt-port")
        return 2
    try:
        asyncio.run(run_demo(config))
    except KeyboardInterrupt:
        _say("anxin demo: stopped 已停止")
    except BrokerError as exc:
        _say(f"anxin demo: could not start the MQTT broker: {exc}")
        return 1
    except ExceptionGroup as group:  # the broker starts inside the demo's task group
        failed, _ = group.split(BrokerError)
        if failed is None:
            raise
        _say(f"anxin demo: could not start the MQTT broker: {_leaves(failed)[0]}")
        return 1
    return 0


def _leaves(group: BaseExceptionGroup[Any]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return found


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="run the whole system on embedded defaults (broker, cloud, edge, simulated fleet)",
        description=(
            "Run Anxin end to end on this machine: an MQTT broker (mosquitto if installed, else amqtt "
            "in-process, or ANXIN_MQTT_URL), the district center with its operator console, one edge "
            "gateway, and a simulated fleet that presses SOS now and then. Data lives in --data-dir "
            "(SQLite) and is wiped at start unless --keep-data."
        ),
    )
    parser.add_argument(
        "--http-port",
        type=int,
        default=8000,
        help="port of the console and API (default 8000; 0 picks a free one)",
    )
    parser.add_argument(
        "--mqtt-port", type=int, default=None, help="broker port (default: 1883 if free, else a free port)"
    )
    parser.add_argument(
        "--mqtt-url",
        default=None,
        help="use an external broker, e.g. mqtt://127.0.0.1:1883 (env ANXIN_MQTT_URL)",
    )
    parser.add_argument(
        "--broker",
        choices=["auto", "mosquitto", "amqtt"],
        default="auto",
        help="embedded broker (default auto)",
    )
    parser.add_argument("--devices", type=int, default=12, help="simulated devices, 0 for none (default 12)")
    parser.add_argument(
        "--sos-every", type=float, default=40.0, help="mean seconds between SOS presses (fleet)"
    )
    parser.add_argument("--operator-password", default=None, help="console password (default: generated)")
    parser.add_argument("--data-dir", default="var/demo", help="where SQLite files live (default var/demo)")
    parser.add_argument("--keep-data", action="store_true", help="keep the data of the previous run")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    parser.set_defaults(func=_run)
