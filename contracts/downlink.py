"""Downlink payloads: what the gateway sends to a device on ``anxin/v1/down/{device_id}/...``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.identity import BOOT_MAX
from contracts.ids import DeviceId
from contracts.uplink import SEQ_MAX
from contracts.version import DOWNLINK_VERSION


class _Downlink(BaseModel):
    """``ref_seq`` and ``ref_boot`` name the alarm a downlink is about (a device matches both)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    v: Literal[1] = DOWNLINK_VERSION
    device_id: DeviceId
    ts: Annotated[int, Field(ge=0, description="sender clock, epoch ms")]


class AlarmReceived(_Downlink):
    """Sent by the gateway once the alarm is safely on disk: the device shows "alarm received"."""

    type: Literal["alarm_received"] = "alarm_received"
    ref_seq: Annotated[int, Field(ge=0, le=SEQ_MAX)]
    ref_boot: Annotated[int, Field(ge=0, le=BOOT_MAX)] = 0
    incident_key: Annotated[str, Field(max_length=128)]


class OperatorAcknowledged(_Downlink):
    """An operator owns the alarm: the device shows "help is coming" (救助人员正在赶来)."""

    type: Literal["operator_ack"] = "operator_ack"
    ref_seq: Annotated[int, Field(ge=0, le=SEQ_MAX)]
    ref_boot: Annotated[int, Field(ge=0, le=BOOT_MAX)] = 0
    incident_key: Annotated[str, Field(max_length=128)]
    operator: Annotated[str, Field(max_length=32, description="operator's staff handle, not a name")]
    eta_min: Annotated[int, Field(ge=0, le=24 * 60)] | None = None
    text_zh: Annotated[str, Field(max_length=64)] = "已收到求助，救助人员正在赶来"
    text_en: Annotated[str, Field(max_length=64)] = "Help is coming"


class AlarmClosed(_Downlink):
    """The incident was resolved or cancelled at the center: the device returns to idle."""

    type: Literal["alarm_closed"] = "alarm_closed"
    ref_seq: Annotated[int, Field(ge=0, le=SEQ_MAX)]
    ref_boot: Annotated[int, Field(ge=0, le=BOOT_MAX)] = 0
    incident_key: Annotated[str, Field(max_length=128)]
    outcome: Annotated[str, Field(max_length=32)]


class DeviceConfig(_Downlink):
    """Configuration pushed to a device; unset fields keep their current value."""

    type: Literal["config"] = "config"
    heartbeat_s: Annotated[int, Field(ge=10, le=86_400)] | None = None
    location_interval_s: Annotated[int, Field(ge=5, le=86_400)] | None = None
    accel_batch_s: Annotated[int, Field(ge=1, le=10)] | None = None
    fall_detection: bool | None = None
    sos_cancel_window_s: Annotated[int, Field(ge=0, le=120)] | None = None


DownlinkMessage = AlarmReceived | OperatorAcknowledged | AlarmClosed | DeviceConfig
