"""The log gate: a test fails when the product logs an exception or a known failure event it did not expect.

A product bug that is caught, logged and survived (a detector raising, an uplink handler failing) must not
pass silently just because the test's assertions still hold. A test that provokes one on purpose says so:
``@pytest.mark.expect_logged_errors`` (any), or ``@pytest.mark.expect_logged_errors("telemetry.rejected")``
(only those events).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import pytest

PRODUCT_LOGGERS = ("anxin", "broker", "cloud", "contracts", "edge", "firmware_sim", "tools")
# Logged at ERROR by code that caught a failure and went on: always a bug unless the test expects it.
FAILURE_EVENTS = (
    "detector.failed",
    "health.db_failed",
    "link.handler_failed",
    "notify.worker_error",
    "telemetry.point_failed",
    "telemetry.sample_failed",
    "telemetry.stopped",
    "tick.store_failed",
    "uplink.handler_failed",
    "uplink.store_failed",
)


def _event(record: logging.LogRecord) -> str:
    return record.getMessage().split(" ", 1)[0]


def unexpected_errors(records: Iterable[logging.LogRecord], allowed: Iterable[str] | None = ()) -> list[str]:
    """The records the gate fails on: a product logger's exception (any level with a traceback), or a
    known failure event at ERROR. ``allowed`` events pass; ``None`` allows everything."""
    if allowed is None:
        return []
    allow = set(allowed)
    found: list[str] = []
    for r in records:
        if r.name.split(".", 1)[0] not in PRODUCT_LOGGERS and _event(r) not in FAILURE_EVENTS:
            continue
        bad = r.exc_info is not None or (r.levelno >= logging.ERROR and _event(r) in FAILURE_EVENTS)
        if bad and _event(r) not in allow:
            trace = " (with traceback)" if r.exc_info else ""
            found.append(f"{r.levelname} {r.name}: {r.getMessage()}{trace}")
    return found


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def fail_on_logged_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    marker = request.node.get_closest_marker("expect_logged_errors")
    allowed: tuple[str, ...] | None = () if marker is None else (tuple(marker.args) or None)
    handler = _Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    found = unexpected_errors(handler.records, allowed)
    if found:
        pytest.fail(
            "the product logged errors this test does not expect (mark it expect_logged_errors if it "
            "provokes them on purpose):\n  " + "\n  ".join(found),
            pytrace=False,
        )
