"""The broker Anxin runs keeps sessions and queued alarms across a kill -9, as whichever user it runs as."""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
from pathlib import Path

import aiomqtt
import pytest

from broker.privileges import reachable_by
from broker.runner import MOSQUITTO_CONF_TEMPLATE, MosquittoBroker, check_can_save, start_mosquitto

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "anxin/v1/up/card-1/sos"


async def test_a_queued_alarm_survives_kill_9_of_the_broker(mosquitto: MosquittoBroker) -> None:
    host, port = mosquitto.host, mosquitto.port
    async with aiomqtt.Client(host, port, identifier="gw", clean_session=False) as gateway:
        await gateway.subscribe("anxin/v1/up/+/sos", qos=1)
    async with aiomqtt.Client(host, port, identifier="card-1") as card:
        await card.publish(TOPIC, b"sos-1", qos=1)  # queued for the offline gateway session
    check_can_save(mosquitto.process, mosquitto.workdir / "data" / "mosquitto.db", 5.0)  # the autosave
    mosquitto.process.kill()
    mosquitto.process.wait(5)
    restarted = start_mosquitto(port, workdir=mosquitto.workdir)
    try:
        async with aiomqtt.Client(host, port, identifier="gw", clean_session=False, timeout=5) as gateway:
            async with asyncio.timeout(10):
                message = await anext(gateway.messages)
        assert (str(message.topic), message.payload) == (TOPIC, b"sos-1")
    finally:
        restarted.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="privileges are dropped only when started as root")
def test_as_root_the_broker_drops_to_mosquitto_where_that_user_can_reach_the_folder(tmp_path: Path) -> None:
    entry = pwd.getpwnam("mosquitto")
    open_dir = Path("/tmp") / f"anxin-broker-test-{os.getpid()}"
    open_dir.mkdir(mode=0o755)
    try:
        broker = start_mosquitto(workdir=open_dir / "broker")
        try:
            assert (open_dir / "broker" / "data").stat().st_uid == entry.pw_uid
            assert re.search(r"^user mosquitto$", (open_dir / "broker" / "mosquitto.conf").read_text(), re.M)
        finally:
            broker.stop()
    finally:
        shutil.rmtree(open_dir)
    private = tmp_path / "private"
    private.mkdir()
    tmp_path.chmod(0o700)
    broker = start_mosquitto(workdir=private / "broker")  # unreachable for mosquitto: stays root, still saves
    broker.stop()
    assert "user root" in (private / "broker" / "mosquitto.conf").read_text()


def test_reachable_by_needs_search_permission_on_every_folder_above(tmp_path: Path) -> None:
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    nobody = 65_000
    (tmp_path / "a").chmod(0o750)
    assert not reachable_by(inner / "c", nobody, nobody)
    (tmp_path / "a").chmod(0o751)
    tmp_path.chmod(0o755)
    assert reachable_by(inner / "c", nobody, nobody) == all(
        p.stat().st_mode & 0o001 for p in tmp_path.resolve().parents
    )


def _settings(text: str) -> dict[str, str]:
    pairs = (line.split(None, 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {p[0]: p[1] for p in pairs if len(p) == 2}


def test_the_shipped_config_persists_and_queues_like_the_one_we_run() -> None:
    shipped = _settings((ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text())
    ours = _settings(MOSQUITTO_CONF_TEMPLATE)
    for key in ("max_inflight_messages", "max_queued_messages", "autosave_interval", "set_tcp_nodelay"):
        assert shipped[key] == ours[key], key
    assert shipped["persistence"] == "true" and int(shipped["autosave_interval"]) <= 1
