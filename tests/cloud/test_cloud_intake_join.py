"""A press that joins its person's open incident: the intake's common case in a storm, written with Core
statements (cloud.incidents.fusion.join_row). What it writes, what the operators see, and how many
statements it costs (on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
from cloud_harness import RunningCloud, SseReader, edge_event
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection

from contracts.intake import Severity

INTAKE = "/api/v1/intake/events"
STREAM = "/api/v1/stream"


async def _post(edge: httpx.AsyncClient, body: dict[str, Any]) -> str:
    response = await edge.post(INTAKE, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["incident_id"])


async def test_a_joined_press_is_stored_on_its_incident_and_shown_with_its_person(
    cloud: RunningCloud, edge: httpx.AsyncClient, operator: httpx.AsyncClient
) -> None:
    incident_id = await _post(edge, edge_event("card-0002", seq=1))
    joined = edge_event("wear-0002", seq=5, device_ts=1_800_000_000_000)
    joined["fix"] = {"lat": 39.2, "lon": 117.3, "accuracy_m": 8.0, "source": "wifi"}
    async with operator.stream("GET", STREAM, timeout=httpx.Timeout(10, read=None)) as stream:
        reader = SseReader(stream)
        assert await _post(edge, joined) == incident_id
        update = await reader.until("incident.updated")
    item = next(i for i in (await operator.get("/api/v1/incidents")).json() if str(i["id"]) == incident_id)
    assert update.data == item  # the announced item is what the list shows, person included
    assert item["subject"] is not None and item["subject"]["masked_name"].endswith("**")
    assert item["event_count"] == 2 and item["last_event_kind"] == "sos"
    assert item["last_location"] == {
        "lat": 39.2,
        "lon": 117.3,
        "accuracy_m": 8.0,
        "source": "wifi",
        "at": 1_800_000_000_000,
    }
    entries = await cloud.rows(
        "SELECT type, actor, data FROM incident_timeline WHERE incident_id = :id ORDER BY id",
        id=int(incident_id),
    )
    assert [(type_, actor) for type_, actor, _ in entries] == [
        ("created", "device"),
        ("event_joined", "device"),
    ]
    data = entries[1][2]
    assert (json.loads(data) if isinstance(data, str) else data) == {
        "key": "wear-0002:5",
        "event": "sos",
        "device_id": "wear-0002",
        "device_ts": 1_800_000_000_000,
    }
    stored = await cloud.rows("SELECT key, incident_id, cloud_ts > 0 FROM edge_events ORDER BY id")
    assert [(key, str(incident), bool(ts)) for key, incident, ts in stored] == [
        ("card-0002:1", incident_id, True),
        ("wear-0002:5", incident_id, True),
    ]


async def test_a_join_that_raises_the_severity_notes_it_first(
    cloud: RunningCloud, edge: httpx.AsyncClient, operator: httpx.AsyncClient
) -> None:
    incident_id = await _post(edge, edge_event("card-0002", seq=1, severity=Severity.P4))
    assert await _post(edge, edge_event("wear-0002", seq=2, severity=Severity.P3)) == incident_id
    assert await _post(edge, edge_event("wear-0002", seq=3, severity=Severity.P4)) == incident_id
    entries = await cloud.rows(
        "SELECT type FROM incident_timeline WHERE incident_id = :id ORDER BY id", id=int(incident_id)
    )
    assert [t for (t,) in entries] == ["created", "severity_raised", "event_joined", "event_joined"]
    detail = (await operator.get(f"/api/v1/incidents/{incident_id}")).json()
    assert detail["severity"] == "P3" and detail["event_count"] == 3


@contextlib.contextmanager
def _transactions(cloud: RunningCloud) -> Iterator[list[list[str]]]:
    """The statements of each transaction the service runs meanwhile (``BEGIN`` itself left out). The
    listeners stay on the engine (it goes with the service): removing one while the service's own
    ``begin`` listener awaits its ``BEGIN IMMEDIATE`` would mutate the listener list under it; so would
    adding one, hence no ``begin`` listener here (a transaction's list starts with its first statement)."""
    engine = cloud.app.state.cloud.db.engine.sync_engine
    recording = [True]
    open_: dict[int, list[str]] = {}
    done: list[list[str]] = []

    def statement(conn: Connection, _cursor: Any, sql: str, *_args: Any) -> None:
        if recording[0] and not sql.startswith("BEGIN"):
            open_.setdefault(id(conn), []).append(sql)

    def end(conn: Connection) -> None:
        if recording[0]:
            done.append(open_.pop(id(conn), []))

    for name, hook in (
        ("before_cursor_execute", statement),
        ("commit", end),
        ("rollback", end),
    ):
        sa_event.listen(engine, name, hook)
    try:
        yield done
    finally:
        recording[0] = False


async def test_a_joined_press_costs_four_statements_or_two(
    cloud: RunningCloud, edge: httpx.AsyncClient
) -> None:
    """Its device, whether its key is stored and its person's incident (locked, with the person's
    summary) in one read; the incident's update, the timeline entry, the event's row (on PostgreSQL these
    three in one statement). Before: an ORM load and flush and a separate read of the person, 6 statements
    and most of the CPU; then a read of the device and one of the incident, 5 statements (PostgreSQL 3)."""
    await _post(edge, edge_event("card-0002", seq=1))
    with _transactions(cloud) as transactions:
        await _post(edge, edge_event("wear-0002", seq=2))
    mine = [t for t in transactions if any("INSERT INTO edge_events" in sql for sql in t)]
    assert len(mine) == 1, transactions
    verbs = [sql.split(None, 1)[0].upper() for sql in mine[0]]
    if cloud.settings.database_url.startswith("postgresql"):
        assert verbs == ["SELECT", "WITH"], mine[0]
        assert "LATERAL" in mine[0][0] and "FOR NO KEY UPDATE OF incidents" in mine[0][0], mine[0][0]
    else:
        assert verbs == ["SELECT", "UPDATE", "INSERT", "INSERT"], mine[0]
