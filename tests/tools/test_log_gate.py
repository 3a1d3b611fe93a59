"""The log gate fails a test on a logged exception or failure event, and lets an expected one through."""

from __future__ import annotations

import logging
import sys

import pytest

from tests.log_gate import unexpected_errors

CONFTEST = "from tests.log_gate import fail_on_logged_errors  # noqa: F401\n"
LOGS_AN_EXCEPTION = """
import logging
import pytest

{mark}
def test_survives_a_bug():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("edge.ingest.uplinks").exception("uplink.handler_failed device=%s", "d-1")
"""


def _record(name: str, level: int, msg: str, *, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            exc_info = sys.exc_info()
    return logging.LogRecord(name, level, __file__, 1, msg, None, exc_info)


def test_the_check_finds_exceptions_and_failure_events_only() -> None:
    records = [
        _record("edge.gateway", logging.ERROR, "telemetry.stopped", exc=True),
        _record("edge.detection.adapter", logging.ERROR, "detector.failed detector=x device=d"),
        _record("edge.ingest.mqtt", logging.WARNING, "mqtt.disconnected reason=x"),
        _record("edge.delivery.outbox", logging.ERROR, "outbox.rejected key=k"),  # an answer, not a bug
        _record("httpx", logging.ERROR, "something else", exc=True),  # not ours
    ]
    found = unexpected_errors(records)
    assert len(found) == 2 and "telemetry.stopped" in found[0] and "detector.failed" in found[1]
    assert unexpected_errors(records, ("telemetry.stopped", "detector.failed")) == []
    assert unexpected_errors(records, None) == []


@pytest.mark.parametrize(
    ("mark", "outcome"),
    [
        ("", {"passed": 1, "errors": 1}),
        ("@pytest.mark.expect_logged_errors", {"passed": 1}),
        ('@pytest.mark.expect_logged_errors("uplink.handler_failed")', {"passed": 1}),
        ('@pytest.mark.expect_logged_errors("detector.failed")', {"passed": 1, "errors": 1}),
    ],
)
@pytest.mark.expect_logged_errors("uplink.handler_failed")  # the inner run's record reaches us too
def test_the_gate_fails_a_test_that_logs_an_exception(
    pytester: pytest.Pytester, mark: str, outcome: dict[str, int]
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(LOGS_AN_EXCEPTION.format(mark=mark))
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestUnknownMarkWarning"
    )
    result.assert_outcomes(**outcome)
    if "errors" in outcome:
        result.stdout.fnmatch_lines(["*uplink.handler_failed device=d-1 (with traceback)*"])
