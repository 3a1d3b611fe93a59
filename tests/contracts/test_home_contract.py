"""The smart service pack's messages: the hub publishes for its sensors on its own topics."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

import contracts as c
from anxin.cli import main
from contracts.errors import ContractError
from contracts.home import STANDARD_PACK, sensor_id
from contracts.ids import HOME_SENSOR_KINDS, DeviceKind

TS = 1_764_513_600_000
HUB = "hub-0001"


def _payload(**fields: object) -> bytes:
    data: dict[str, object] = {"v": 1, "device_id": HUB, "seq": 9, "ts": TS}
    data.update(fields)
    return orjson.dumps(data)


def test_pull_cord_and_hazards_are_alarm_channels_door_and_motion_are_not() -> None:
    assert c.is_alarm_channel(c.UplinkChannel.PULL_CORD)
    assert c.is_alarm_channel("hazard")
    assert c.is_alarm_channel("sos") and c.is_alarm_channel("fall")
    for channel in ("door", "motion", "sensor", "status", "accel", "vitals", "presence"):
        assert not c.is_alarm_channel(channel), channel
    assert c.is_alarm_topic(f"anxin/v1/up/{HUB}/pull_cord")
    assert not c.is_alarm_topic(f"anxin/v1/up/{HUB}/motion")
    assert not c.is_alarm_topic("elsewhere/hub-0001/pull_cord")


def test_a_hub_message_decodes_with_the_sensor_named_in_the_payload() -> None:
    topic = c.uplink_topic(HUB, c.UplinkChannel.HAZARD)
    message = c.decode_uplink(
        topic, _payload(type="hazard", sensor_id="hub-0001-gas", hazard="gas", state="alarm", level_pct=18.5)
    )
    assert isinstance(message, c.HazardAlarm)
    assert (message.device_id, message.sensor_id, message.hazard) == (HUB, "hub-0001-gas", c.Hazard.GAS)
    assert message.key == "hub-0001:9"  # the hub's seq is the idempotency key


@pytest.mark.parametrize(
    ("channel", "fields", "field"),
    [
        ("hazard", {"type": "hazard", "hazard": "smoke", "state": "alarm"}, "sensor_id"),
        ("hazard", {"type": "hazard", "sensor_id": "s-1", "hazard": "fire", "state": "alarm"}, "hazard"),
        ("hazard", {"type": "hazard", "sensor_id": "s-1", "hazard": "smoke", "state": "on"}, "state"),
        ("hazard", {"type": "hazard", "sensor_id": "s/1", "hazard": "smoke", "state": "alarm"}, "sensor_id"),
        ("motion", {"type": "motion", "sensor_id": "p-1", "count": -1}, "count"),
        ("motion", {"type": "motion", "sensor_id": "p-1", "count": 3, "interval_s": 1}, "interval_s"),
        ("door", {"type": "door", "sensor_id": "d-1", "state": "ajar"}, "state"),
        ("sensor", {"type": "sensor_status", "sensor_id": "w-1", "battery_pct": 101}, "battery_pct"),
        ("door", {"type": "pull_cord", "sensor_id": "c-1"}, "type"),  # wrong channel
    ],
)
def test_bad_home_messages_are_rejected_with_the_field(
    channel: str, fields: dict[str, object], field: str
) -> None:
    with pytest.raises(ContractError) as caught:
        c.decode_uplink(c.uplink_topic(HUB, channel), _payload(**fields))
    assert caught.value.reason == "invalid"
    assert caught.value.field == field


def test_the_standard_pack_has_every_sensor_kind_with_valid_ids() -> None:
    assert {s.kind for s in STANDARD_PACK} == set(HOME_SENSOR_KINDS)
    ids = [sensor_id(HUB, s.suffix) for s in STANDARD_PACK]
    assert len(set(ids)) == len(ids)
    for value in ids:
        assert c.validate_device_id(value) == value
    assert c.is_home_sensor(DeviceKind.PULL_CORD) and not c.is_home_sensor(DeviceKind.HOME_HUB)


def test_home_schemas_name_the_hub_topic_and_qos(tmp_path: Path) -> None:
    assert main(["contracts", "schema", str(tmp_path)]) == 0
    for name, channel in (("hazard", "hazard"), ("pull_cord", "pull_cord"), ("motion", "motion")):
        schema = orjson.loads((tmp_path / f"uplink.{name}.schema.json").read_bytes())
        assert schema["x-anxin-topic"] == f"anxin/v1/up/{{device_id}}/{channel}"
        assert schema["x-anxin-qos"] == 1
        assert "sensor_id" in schema["required"]
