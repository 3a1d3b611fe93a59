"""Fixtures shared by every test tier: real brokers on free ports, temp folders, the event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from broker.runner import AmqttBroker, MosquittoBroker, free_port, mosquitto_binary, start_mosquitto


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A real ``mosquitto`` process with the project's config on a free port."""
    if mosquitto_binary() is None:
        pytest.fail("the mosquitto binary is required for integration tests (apt-get install -y mosquitto)")
    broker = start_mosquitto(workdir=tmp_path / "mosquitto")
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
async def amqtt_broker() -> AsyncIterator[AmqttBroker]:
    """The embedded in-process amqtt broker, as ``anxin demo`` runs it when mosquitto is absent."""
    broker = AmqttBroker(port=free_port())
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()
