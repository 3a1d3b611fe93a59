"""``anxin contracts``: tools for firmware vendors — JSON Schema export and example payloads."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from contracts.codec import encode
from contracts.downlink import AlarmClosed, AlarmReceived, DeviceConfig, OperatorAcknowledged
from contracts.intake import EdgeCommand, EdgeEvent
from contracts.topics import downlink_topic, uplink_topic
from contracts.uplink import CHANNEL_OF, MODEL_OF, QOS_OF
from contracts.version import SCHEMA_VERSION

DOWNLINK_MODELS: dict[str, type[BaseModel]] = {
    "alarm_received": AlarmReceived,
    "operator_ack": OperatorAcknowledged,
    "alarm_closed": AlarmClosed,
    "config": DeviceConfig,
}
EXAMPLE_TS = 1_764_513_600_000  # 2025-11-30T14:40:00Z


def example_uplinks(device_id: str = "card-0001") -> dict[str, BaseModel]:
    """One valid example of every uplink message, as documented in docs/protocol.md."""
    from contracts import uplink as u

    base: dict[str, Any] = {"device_id": device_id, "ts": EXAMPLE_TS}
    fix = u.Fix(lat=39.1247, lon=117.0156, accuracy_m=25, source=u.LocationSource.GNSS)
    return {
        "sos": u.SosPress(seq=101, fix=fix, **base),
        "sos_cancel": u.SosCancel(seq=102, ref_seq=101, **base),
        "fall": u.FallSuspected(seq=103, peak_g=4.2, confidence=0.8, **base),
        "accel": u.AccelBatch(seq=104, samples=[(0.01, -0.98, 0.12), (0.02, -0.99, 0.11)], **base),
        "vitals": u.Vitals(seq=105, hr_bpm=72, spo2_pct=97, **base),
        "location": u.Location(
            seq=106, lat=39.1247, lon=117.0156, accuracy_m=25, source=u.LocationSource.GNSS, **base
        ),
        "status": u.Status(seq=107, battery_pct=84, rssi_dbm=-71, **base),
        "wear": u.WearState(seq=108, state="worn", **base),
        "presence": u.Presence(device_id=device_id, online=True, ts=EXAMPLE_TS),
    }


def write_schemas(out_dir: Path) -> list[Path]:
    """Write one JSON Schema per message (uplink, downlink, edge↔cloud) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    groups: list[tuple[str, dict[str, type[BaseModel]]]] = [
        ("uplink", dict(MODEL_OF)),
        ("downlink", DOWNLINK_MODELS),
        ("intake", {"edge_event": EdgeEvent, "edge_command": EdgeCommand}),
    ]
    for group, models in groups:
        for name, model in models.items():
            schema = model.model_json_schema(mode="validation")
            schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
            schema["$id"] = f"anxin/v{SCHEMA_VERSION}/{group}/{name}.json"
            if group == "uplink":
                channel = CHANNEL_OF[name]
                schema["x-anxin-topic"] = f"anxin/v1/up/{{device_id}}/{channel.value}"
                schema["x-anxin-qos"] = QOS_OF[channel]
            elif group == "downlink":
                schema["x-anxin-topic"] = "anxin/v1/down/{device_id}/" + (
                    "config" if name == "config" else "alarm"
                )
            path = out_dir / f"{group}.{name}.schema.json"
            path.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
            written.append(path)
    return written


def _schema(args: argparse.Namespace) -> int:
    paths = write_schemas(Path(args.dir))
    sys.stdout.write(f"wrote {len(paths)} JSON Schema files to {args.dir}\n")
    return 0


def _examples(args: argparse.Namespace) -> int:
    for name, message in example_uplinks(args.device).items():
        channel = CHANNEL_OF[name]
        sys.stdout.write(f"# {name}: topic {uplink_topic(args.device, channel)} qos {QOS_OF[channel]}\n")
        sys.stdout.write(encode(message).decode() + "\n")
    config = downlink_topic(args.device, "config")
    sys.stdout.write(f"# downlinks arrive on {downlink_topic(args.device)} and {config}\n")
    return 0


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "contracts",
        help="wire contract tools: JSON Schema export, example payloads",
        description="Tools for the Anxin MQTT wire contract (see docs/protocol.md).",
    )
    tools = parser.add_subparsers(dest="contracts_command", metavar="TOOL", required=True)
    schema = tools.add_parser(
        "schema",
        help="write JSON Schema files for firmware vendors",
        description="Write one JSON Schema file per message type (uplink, downlink, edge-cloud) into DIR.",
    )
    schema.add_argument("dir", metavar="DIR", help="output folder (created if missing)")
    schema.set_defaults(func=_schema)
    examples = tools.add_parser(
        "examples",
        help="print a valid example of every uplink message with its topic",
        description="Print a valid example payload for every uplink message, ready for mosquitto_pub.",
    )
    examples.add_argument("--device", default="card-0001", help="device id to use (default: card-0001)")
    examples.set_defaults(func=_examples)


def main() -> int:
    parser = argparse.ArgumentParser(prog="anxin")
    register(parser.add_subparsers())
    args = parser.parse_args()
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
