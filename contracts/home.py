"""The smart service pack (智慧助老服务包): what a home hub publishes for its sensors.

A pack is a hub (the only MQTT client, username = hub id) and a few sensors — smoke, gas, water leak, a
door contact, PIR motion sensors (one per room) and a fixed emergency pull-cord — on Zigbee/LoRa. The hub
publishes on its **own** topics (``anxin/v1/up/{hub_id}/{channel}``) with the sensor named in the payload
(``sensor_id``), so:

* the broker's pattern ACL (``pattern write anxin/v1/up/%u/#``) pins the hub to its own subtree, exactly as
  for every other device, with no per-sensor broker identities;
* ``device_id`` is the hub and ``seq`` is the hub's counter: the idempotency key ``hub_id:seq`` and the
  gateway's sequence window work unchanged;
* the gateway checks that ``sensor_id`` is registered to *this* hub; a hub publishing for another home's
  sensor is refused (counted as ``foreign_sensor`` and dropped).

The hub's own presence and battery use the ordinary ``presence`` and ``status`` messages (``charging``
true = on mains power, the battery is its backup).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal, TypeAlias

from pydantic import Field

from contracts.ids import DeviceId, DeviceKind
from contracts.uplink import _Uplink


class Hazard(StrEnum):
    SMOKE = "smoke"
    GAS = "gas"  # methane / CO
    WATER = "water"  # water on the floor (a tap left running, a burst pipe)


class Room(StrEnum):
    """Where a sensor is installed (the installer's choice, from this list)."""

    KITCHEN = "kitchen"
    BEDROOM = "bedroom"
    LIVING_ROOM = "living_room"
    BATHROOM = "bathroom"
    ENTRANCE = "entrance"
    HALLWAY = "hallway"
    BALCONY = "balcony"


ROOM_LABEL: dict[str, dict[Room, str]] = {
    "zh": {
        Room.KITCHEN: "厨房",
        Room.BEDROOM: "卧室",
        Room.LIVING_ROOM: "客厅",
        Room.BATHROOM: "卫生间",
        Room.ENTRANCE: "入户门",
        Room.HALLWAY: "走廊",
        Room.BALCONY: "阳台",
    },
    "en": {
        Room.KITCHEN: "kitchen",
        Room.BEDROOM: "bedroom",
        Room.LIVING_ROOM: "living room",
        Room.BATHROOM: "bathroom",
        Room.ENTRANCE: "front door",
        Room.HALLWAY: "hallway",
        Room.BALCONY: "balcony",
    },
}

HAZARD_SENSOR: dict[Hazard, DeviceKind] = {
    Hazard.SMOKE: DeviceKind.SMOKE_DETECTOR,
    Hazard.GAS: DeviceKind.GAS_DETECTOR,
    Hazard.WATER: DeviceKind.WATER_LEAK,
}


class SensorUplink(_Uplink):
    """Sent by the hub (``device_id``) for one of its sensors (``sensor_id``)."""

    sensor_id: DeviceId


class HazardAlarm(SensorUplink):
    """A smoke, gas or water-leak detector raised (``alarm``) or cleared (``clear``) its alarm.

    ``level_pct`` is optional: gas in % of the lower explosive limit, smoke obscuration in %/m."""

    type: Literal["hazard"] = "hazard"
    hazard: Hazard
    state: Literal["alarm", "clear"]
    level_pct: Annotated[float, Field(ge=0, le=100)] | None = None


class PullCordAlarm(SensorUplink):
    """The emergency pull-cord was pulled: an alarm like SOS (acknowledged with ``alarm_received``)."""

    type: Literal["pull_cord"] = "pull_cord"


class DoorState(SensorUplink):
    """The door contact opened or closed."""

    type: Literal["door"] = "door"
    state: Literal["open", "closed"]


class MotionCount(SensorUplink):
    """PIR triggers counted over the ``interval_s`` seconds that end at ``ts`` (0 = nobody moved there).

    The hub sends one per motion sensor per interval (5 minutes by default), also when the count is 0,
    so silence from the hub and stillness in the home are told apart."""

    type: Literal["motion"] = "motion"
    interval_s: Annotated[int, Field(ge=10, le=3_600, strict=True)] = 300
    count: Annotated[int, Field(ge=0, le=100_000, strict=True)]


class SensorStatus(SensorUplink):
    """A sensor's own health, sent on change and daily: battery and tamper (cover opened / removed)."""

    type: Literal["sensor_status"] = "sensor_status"
    battery_pct: Annotated[int, Field(ge=0, le=100)] | None = None
    low_battery: bool = False
    tamper: bool = False


HomeUplink: TypeAlias = HazardAlarm | PullCordAlarm | DoorState | MotionCount | SensorStatus


@dataclass(frozen=True, slots=True)
class PackSensor:
    """One sensor of a pack as installed: id suffix, kind and room."""

    suffix: str
    kind: DeviceKind
    room: Room


STANDARD_PACK: tuple[PackSensor, ...] = (
    PackSensor("smoke", DeviceKind.SMOKE_DETECTOR, Room.KITCHEN),
    PackSensor("gas", DeviceKind.GAS_DETECTOR, Room.KITCHEN),
    PackSensor("water", DeviceKind.WATER_LEAK, Room.BATHROOM),
    PackSensor("door", DeviceKind.DOOR_CONTACT, Room.ENTRANCE),
    PackSensor("pir-bed", DeviceKind.MOTION_SENSOR, Room.BEDROOM),
    PackSensor("pir-living", DeviceKind.MOTION_SENSOR, Room.LIVING_ROOM),
    PackSensor("pir-kitchen", DeviceKind.MOTION_SENSOR, Room.KITCHEN),
    PackSensor("pir-bath", DeviceKind.MOTION_SENSOR, Room.BATHROOM),
    PackSensor("cord", DeviceKind.PULL_CORD, Room.BATHROOM),
)
"""The district's standard installation (the demo registry and the simulator both use it)."""


def sensor_id(hub_id: str, suffix: str) -> str:
    """``hub-0001`` + ``smoke`` -> ``hub-0001-smoke``."""
    return f"{hub_id}-{suffix}"
