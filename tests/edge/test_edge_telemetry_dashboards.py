"""The Grafana dashboards query only what the telemetry sink writes, through the provisioned datasource."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edge_testkit import BASE_TS

from contracts import AccelBatch, AnyUplink, Location, LocationSource, Presence, Status, Vitals, WearState
from edge.metrics import EdgeMetrics
from edge.telemetry.points import forward_fields, gateway_fields, points_of, sink_fields
from edge.telemetry.sink import MEASUREMENTS, SinkStats

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
