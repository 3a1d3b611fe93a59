"""Device identifiers and device kinds."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator

from contracts.errors import ContractError

DEVICE_ID_MAX_LEN = 64
_DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class DeviceKind(StrEnum):
    """The device models the district hands out: three personal devices, and the smart service pack
    (智慧助老服务包): a home hub and the sensors it speaks for (see :mod:`contracts.home`)."""

    SOS_CARD = "sos_card"  # 助老卡: SOS assistance card
    WEARABLE = "wearable"  # fall/SOS wearable (waist or pendant)
    CHILD_MONITOR = "child_monitor"  # child safety monitor (watch)
    HOME_HUB = "home_hub"  # 智慧助老服务包 hub: the MQTT client, publishes for its sensors
    SMOKE_DETECTOR = "smoke_detector"  # 烟感
    GAS_DETECTOR = "gas_detector"  # 燃气报警器 (methane / CO)
    WATER_LEAK = "water_leak"  # 水浸
    DOOR_CONTACT = "door_contact"  # 门磁
    MOTION_SENSOR = "motion_sensor"  # 人体红外 (PIR)
    PULL_CORD = "pull_cord"  # 紧急拉绳


HOME_SENSOR_KINDS = frozenset(
    {
        DeviceKind.SMOKE_DETECTOR,
        DeviceKind.GAS_DETECTOR,
        DeviceKind.WATER_LEAK,
        DeviceKind.DOOR_CONTACT,
        DeviceKind.MOTION_SENSOR,
        DeviceKind.PULL_CORD,
    }
)
"""Kinds that never connect themselves: their hub publishes for them (``sensor_id`` in the payload)."""


def is_home_sensor(kind: DeviceKind | str) -> bool:
    """True for the sensors of a service pack (a hub speaks for them; they have no MQTT identity)."""
    return kind in HOME_SENSOR_KINDS


def validate_device_id(value: str) -> str:
    """Return ``value`` if it is a valid device id, else raise :class:`ContractError`.

    Device ids are 1–64 characters of ``A–Z a–z 0–9 _ . -`` starting with a letter or digit, so they
    never contain the MQTT wildcards ``+ #`` nor the level separator ``/``, and can be used as the
    broker username for a per-device ACL.
    """
    if not isinstance(value, str):
        raise ContractError("device id must be a string", field="device_id")
    if not 1 <= len(value) <= DEVICE_ID_MAX_LEN:
        raise ContractError(f"device id must be 1-{DEVICE_ID_MAX_LEN} characters", field="device_id")
    if not _DEVICE_ID_RE.match(value):
        raise ContractError(
            "device id may only contain letters, digits, '_', '.', '-' and must start with a letter or digit",
            field="device_id",
        )
    return value


def _pydantic_device_id(value: str) -> str:
    try:
        return validate_device_id(value)
    except ContractError as exc:
        raise ValueError(str(exc)) from exc


DeviceId = Annotated[str, AfterValidator(_pydantic_device_id)]
