"""The Grafana dashboards query only what the telemetry sink writes, through the provisioned datasource."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edge_testkit import BASE_TS
from flux_check import FluxError, check_query, check_variable_query

from contracts import AccelBatch, AnyUplink, Location, LocationSource, Presence, Status, Vitals, WearState
from edge.metrics import EdgeMetrics
from edge.telemetry.points import forward_fields, gateway_fields, points_of, sink_fields
from edge.telemetry.sink import MEASUREMENTS, TAG_KEYS, SinkStats

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
NAMES = ["anxin-vitals.json", "anxin-device-health.json", "anxin-gateway.json"]
DATASOURCE_UID = "anxin-influxdb"

MEASUREMENT_RE = re.compile(r'_measurement\s*==\s*"([^"]+)"|measurement:\s*"([^"]+)"')
FIELD_RE = re.compile(r'_field\s*==\s*"([^"]+)"')
FIELD_PREFIX_RE = re.compile(r"_field\s*=~\s*/\^([A-Za-z0-9_]+)/")


def written_fields() -> set[str]:
    """Every field name the sink writes, found by running the real point builders."""
    tags = {"device_id": "wear-1", "kind": "wearable", "edge_id": "e"}
    d, ts = {"device_id": "wear-1", "seq": 1, "ts": BASE_TS}, BASE_TS
    messages: list[AnyUplink] = [
        Vitals(**d, hr_bpm=70, spo2_pct=97),
        Status(**d, battery_pct=50, rssi_dbm=-70),
        Location(**d, lat=39.1, lon=117.2, accuracy_m=5, source=LocationSource.GNSS, speed_mps=1.0),
        WearState(**d, state="worn"),
        Presence(device_id="wear-1", online=True, ts=ts),
        AccelBatch(**d, samples=[(0.0, 0.0, 1.0)]),
    ]
    fields = {f for m in messages for p in points_of(m, tags, ts) for f in p.fields}
    fields |= set(gateway_fields(EdgeMetrics().registry)) | set(forward_fields([1.0], [1.0]))
    return fields | set(sink_fields(SinkStats()))


def panels_of(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in node.get("panels", []):
        yield panel
        yield from panels_of(panel)  # rows may nest panels


def load(name: str) -> dict[str, Any]:
    board: dict[str, Any] = json.loads((DASHBOARDS / name).read_text(encoding="utf-8"))
    return board


@pytest.mark.parametrize("name", NAMES)
def test_dashboard_parses_and_uses_the_provisioned_influxdb(name: str) -> None:
    board = load(name)
    assert board["schemaVersion"] >= 39
    assert board["uid"] == name.removesuffix(".json") and board["title"]
    panels = list(panels_of(board))
    assert panels, "a dashboard without panels"
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        if panel.get("type") == "row":
            continue
        assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
            assert target["query"].strip(), panel["title"]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == DATASOURCE_UID


@pytest.mark.parametrize("name", NAMES)
def test_every_measurement_and_field_a_query_names_is_written_by_the_sink(name: str) -> None:
    board = load(name)
    queries = [t["query"] for p in panels_of(board) for t in p.get("targets", [])]
    queries += [v["query"] for v in board["templating"]["list"] if v["type"] == "query"]
    named = {a or b for q in queries for a, b in MEASUREMENT_RE.findall(q)}
    assert named, "no query names a measurement"
    assert named <= set(MEASUREMENTS), named - set(MEASUREMENTS)
    known = written_fields()
    for query in queries:
        for field in FIELD_RE.findall(query):
            assert field in known, f"{name}: field {field!r} is not written"
        for prefix in FIELD_PREFIX_RE.findall(query):
            assert any(f.startswith(prefix) for f in known), f"{name}: no field starts with {prefix!r}"


def test_the_dashboards_cover_what_the_brief_asks_for() -> None:
    text = {name: json.dumps(load(name)) for name in NAMES}
    assert all(f in text["anxin-vitals.json"] for f in ("hr_bpm", "spo2_pct"))
    assert all(f in text["anxin-device-health.json"] for f in ("battery_pct", "silent_min", "last_seen"))
    gateway = text["anxin-gateway.json"]
    assert all(f in gateway for f in ("accepted_", "rejected_", "outbox_pending", "forward_ms_mean"))


@pytest.mark.parametrize("name", NAMES)
def test_every_flux_query_parses_as_a_pipeline_over_what_the_sink_writes(name: str) -> None:
    board = load(name)
    known = written_fields()
    for panel in panels_of(board):
        for target in panel.get("targets", []):
            try:
                query = check_query(target["query"])
            except FluxError as exc:
                pytest.fail(f"{name} / {panel['title']}: {exc}")
            assert query.measurements <= set(MEASUREMENTS), (panel["title"], query.measurements)
            assert query.fields <= known, (panel["title"], query.fields - known)
            for prefix in query.field_prefixes:
                assert any(f.startswith(prefix) for f in known), (panel["title"], prefix)
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            args = check_variable_query(variable["query"])
            assert args["measurement"] in MEASUREMENTS and args["tag"] in TAG_KEYS, args


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        (
            'from(bucket: "b") |> range(start: -1h |> filter(fn: (r) => r._measurement == "vitals")',
            "unclosed",
        ),
        (
            'from(bucket: "b") |> range(start: -1h)) |> filter(fn: (r) => r._measurement == "vitals")',
            "unbalanced",
        ),
        ('from(bucket: "b") |> |> range(start: -1h)', "empty"),
        ('from(bucket: "b") |> filter(fn: (r) => r._measurement == "vitals")', "from → range → filter"),
        ('from(bucket: "b") |> range(stop: -1h) |> filter(fn: (r) => r._measurement == "vitals")', "start"),
        ('from(b: "b") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "vitals")', "bucket"),
        ('from(bucket: "b") |> range(start: -1h) |> filter(fn: (r) => r._field == "hr_bpm")', "measurement"),
        (
            'from(bucket: "b") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "v") last',
            "not a call",
        ),
        (
            'from(bucket: "b") |> range(start: 1)'
            ' |> filter(fn: (r) => r._field =~ /hr/ and r._measurement == "v")',
            "prefix",
        ),
    ],
)
def test_the_flux_checker_catches_broken_queries(query: str, problem: str) -> None:
    with pytest.raises(FluxError, match=problem):
        check_query(query)


def test_the_flux_checker_reads_measurements_and_fields() -> None:
    query = check_query(
        'from(bucket: "${bucket}")\n  |> range(start: v.timeRangeStart)\n'
        '  |> filter(fn: (r) => r._measurement == "vitals"'
        ' and (r._field == "hr_bpm" or r._field =~ /^spo2_/))\n'
        "  |> aggregateWindow(every: 1m, fn: mean, createEmpty: false)"
    )
    assert query.stages == ["from", "range", "filter", "aggregateWindow"]
    assert (query.measurements, query.fields, query.field_prefixes) == ({"vitals"}, {"hr_bpm"}, {"spo2_"})
