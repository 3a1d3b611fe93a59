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
    """The three device models the district hands out."""

    SOS_CARD = "sos_card"  # 助老卡: SOS assistance card
    WEARABLE = "wearable"  # fall/SOS wearable (waist or pendant)
    CHILD_MONITOR = "child_monitor"  # child safety monitor (watch)


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
