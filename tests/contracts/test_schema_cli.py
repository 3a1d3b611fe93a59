"""`anxin contracts schema DIR` writes valid JSON Schema files, and the protocol doc's examples are valid."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

import contracts as c
from anxin.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_schema_command_writes_every_message(tmp_path: Path) -> None:
    assert main(["contracts", "schema", str(tmp_path / "out")]) == 0
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "uplink.sos.schema.json" in files
    assert "downlink.operator_ack.schema.json" in files
    assert "intake.edge_event.schema.json" in files
    sos = orjson.loads((tmp_path / "out" / "uplink.sos.schema.json").read_bytes())
    assert sos["x-anxin-topic"] == "anxin/v1/up/{device_id}/sos"
    assert sos["x-anxin-qos"] == 1
    assert {"v", "device_id", "seq", "ts"} <= set(sos["required"]) | set(sos["properties"])


def test_every_mosquitto_pub_example_in_the_protocol_doc_decodes() -> None:
    text = DOC.read_text(encoding="utf-8")
    examples = re.findall(r"mosquitto_pub [^\n]*-t (\S+) [^\n]*-m '([^']+)'", text)
    assert len(examples) >= 8, "the protocol doc should show a mosquitto_pub example per uplink message"
    for topic, payload in examples:
        c.decode_uplink(topic, payload.encode())
