"""The shipped ``deploy/mosquitto/mosquitto.conf`` run by the real ``mosquitto`` with synced files.

Only the container paths and ports are rewritten for the test (and ``user root`` added when the test
runs as root, as Mosquitto would otherwise drop to a user that cannot read the 0600 files).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from broker_district import EDGE, GATEWAY_PASSWORD, District
from mqtt_probe import NOT_AUTHORIZED, SUCCESS, Probe

from broker.runner import free_port, mosquitto_binary, wait_for_port
from contracts.topics import UplinkChannel, uplink_topic

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"


def directives(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            pairs.append((key, value))
    return pairs


def test_shipped_config_has_auth_acl_and_a_tls_listener() -> None:
    pairs = directives(SHIPPED.read_text(encoding="utf-8"))
    keys = dict(pairs)
    assert keys["allow_anonymous"] == "false" and keys["per_listener_settings"] == "false"
    assert keys["password_file"] == "/mosquitto/auth/passwords" and keys["acl_file"] == "/mosquitto/auth/acl"
    listeners = [value for key, value in pairs if key == "listener"]
    assert listeners == ["1883", "8883"]
    after_tls = [key for key, _ in pairs[pairs.index(("listener", "8883")) :]]
    assert "certfile" in after_tls and "keyfile" in after_tls
    assert (
        keys["certfile"] == "/mosquitto/certs/server.crt" and keys["keyfile"] == "/mosquitto/certs/server.key"
    )


@pytest.fixture
def shipped_broker(district: District, tmp_path: Path) -> Iterator[tuple[int, int]]:
    binary = mosquitto_binary()
    assert binary is not None
    plain, tls = free_port(), free_port()
    text = SHIPPED.read_text(encoding="utf-8")
    text = text.replace("/mosquitto/auth/", f"{district.out_dir}/")
    text = text.replace("/mosquitto/certs/", f"{district.certs.cert.parent}/")
    text = text.replace("/mosquitto/data/", f"{tmp_path / 'data'}/")
    text = re.sub(r"^listener 1883$", f"listener {plain} 127.0.0.1", text, flags=re.M)
    text = re.sub(r"^listener 8883$", f"listener {tls} 127.0.0.1", text, flags=re.M)
    if os.geteuid() == 0:
        text += "user root\n"
    (tmp_path / "data").mkdir()
    conf = tmp_path / "shipped.conf"
    conf.write_text(text, encoding="utf-8")
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port("127.0.0.1", plain, 10, process)
        wait_for_port("127.0.0.1", tls, 10, process)
        yield plain, tls
    finally:
        process.terminate()
        process.wait(10)


def test_shipped_config_refuses_anonymous_and_forged_and_takes_devices_over_tls(
    district: District, shipped_broker: tuple[int, int]
) -> None:
    plain, tls = shipped_broker
    for port, ca in ((plain, None), (tls, district.certs.ca)):
        anonymous = Probe("127.0.0.1", port, ca_file=ca, client_id="anonymous")
        try:
            assert anonymous.connect() != SUCCESS
        finally:
            anonymous.close()
    gateway = Probe("127.0.0.1", plain, EDGE, GATEWAY_PASSWORD)
    device = Probe("127.0.0.1", tls, "card-0001", district.secrets["card-0001"], ca_file=district.certs.ca)
    try:
        assert gateway.connect() == SUCCESS and device.connect() == SUCCESS
        gateway.subscribe("anxin/v1/up/#")
        assert device.publish(uplink_topic("card-0002", UplinkChannel.SOS), b"forged") == NOT_AUTHORIZED
        assert device.publish(uplink_topic("card-0001", UplinkChannel.SOS), b"mine") == SUCCESS
        gateway.wait_for(lambda m: m.payload == b"mine")
        assert [m.payload for m in gateway.received] == [b"mine"]
    finally:
        device.close()
        gateway.close()
