"""Fixtures shared by every test tier: real brokers on free ports, temp folders, the event loop."""

from __future__ import annotations

import gc
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from broker.runner import AmqttBroker, MosquittoBroker, free_port, mosquitto_binary, start_mosquitto
from tests.log_gate import fail_on_logged_errors

__all__ = ["fail_on_logged_errors"]  # the autouse log gate, for every test

# Fixtures that start a real process or server (broker, uvicorn, gateway, Chromium): a test using any of
# them, directly or through another fixture, is an integration test.
PROCESS_FIXTURES = frozenset(
    {
        "amqtt_broker",
        "amqtt_with_logins",
        "browser",
        "cloud",
        "device",
        "district",
        "gateway_factory",
        "influx",
        "mosquitto",
        "real_cloud",
        "serve_app",
        "serve_context",
        "shipped_broker",
        "start_cloud",
    }
)


# amqtt (third-party) leaves the socket of a connection it refused (an MQTT 5 CONNECT) unclosed; its
# ResourceWarning surfaces wherever the garbage collector runs. Named exception to "warnings are errors",
# for the tests that run that broker only.
AMQTT_LEAK = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if PROCESS_FIXTURES & fixtures:
            item.add_marker(pytest.mark.integration)
        if {"amqtt_broker", "amqtt_with_logins"} & fixtures:
            item.add_marker(AMQTT_LEAK)


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
        # amqtt (third-party) leaves the socket of a connection it refused unclosed; collect it here, where
        # it is known, rather than let its ResourceWarning fail whichever test the garbage collector hits.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
