"""Fixture: a district's broker (registry, ``anxin broker sync``, real ``mosquitto`` with plain and TLS
listeners); see :mod:`broker_district`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from broker_district import DEVICES, EDGE, GATEWAY_PASSWORD, District, provision
from throwaway_ca import make_certificates

from anxin.broker_sync import sync_broker_files
from broker.runner import BrokerAuth, BrokerTls, free_port, mosquitto_binary, start_mosquitto


@pytest.fixture
async def district(tmp_path: Path) -> AsyncIterator[District]:
    if mosquitto_binary() is None:
        pytest.fail("the mosquitto binary is required (apt-get install -y mosquitto)")
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}"
    secrets = await provision(db_url, DEVICES)
    out_dir = tmp_path / "auth"
    result = await sync_broker_files(database_url=db_url, gateways={EDGE: GATEWAY_PASSWORD}, out_dir=out_dir)
    certs = make_certificates(tmp_path / "certs")
    broker = start_mosquitto(
        workdir=tmp_path / "mosquitto",
        auth=BrokerAuth(result.password_file, result.acl_file),
        tls=BrokerTls(free_port(), certs.cert, certs.key),
    )
    try:
        yield District(broker, secrets, db_url, out_dir, certs)
    finally:
        broker.stop()
