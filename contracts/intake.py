"""The edge ↔ cloud contract (HTTP): alarm events up, commands for devices down.

Edge → cloud: ``POST {cloud}/api/v1/intake/events`` with an :class:`EdgeEvent` body and header
``Authorization: Bearer <edge token>``. The cloud stores each ``key`` (device id + boot + seq, see
:mod:`contracts.identity`) exactly once: ``201`` for a new event, ``200`` with ``duplicate: true`` for a
repeat; the body is an :class:`IntakeAck`. The edge keeps the event in its outbox until it got one of
those two answers. The cloud accepts an event only from the gateway its device is assigned to (else
``403``), and only when ``key`` is derived from the body (:func:`key_is_derived`, else ``422``); an alarm
from a device the gateway or the center does not have (``unassigned``) opens an unassigned incident.

Cloud → edge: the edge opens ``GET {cloud}/api/v1/edges/{edge_id}/commands`` (Server-Sent Events; each
event's ``id`` is the command id and ``data`` an :class:`EdgeCommand`; reconnect with ``Last-Event-ID``
to replay what is unacknowledged), publishes each command's downlink to its device, then confirms with
``POST {cloud}/api/v1/edges/{edge_id}/commands/{id}/ack``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.downlink import DownlinkMessage
from contracts.guardians import MAX_GUARDIANS, EdgeNotice
from contracts.identity import (
    BOOT_MAX,
    DIGEST_PATTERN,
    event_key,
    finding_key,
    tick_key,
    variant_key,
)
from contracts.ids import DeviceId
from contracts.uplink import SEQ_MAX, Fix

INTAKE_PATH = "/api/v1/intake/events"
INTAKE_BATCH_PATH = "/api/v1/intake/events/batch"
INTAKE_BATCH_MAX = 500
COMMANDS_PATH = "/api/v1/edges/{edge_id}/commands"
COMMAND_ACK_PATH = "/api/v1/edges/{edge_id}/commands/{command_id}/ack"
EVIDENCE_MAX_ITEMS = 2_000


class Severity(StrEnum):
    P1 = "P1"  # life at risk: SOS, fall, child SOS, pull-cord, smoke, gas
    P2 = "P2"  # urgent: abnormal vitals, child left a fence, water leak, night wandering
    P3 = "P3"  # check: inactivity, device silent, strap removed
    P4 = "P4"  # maintenance: battery


class EventKind(StrEnum):
    SOS = "sos"
    SOS_CANCEL = "sos_cancel"  # updates the open incident named by ref_key
    FALL = "fall"  # detected by the gateway from acceleration
    FALL_DEVICE = "fall_device"  # suspected by the device's own firmware
    HR_HIGH = "hr_high"
    HR_LOW = "hr_low"
    SPO2_LOW = "spo2_low"
    VITALS_DRIFT = "vitals_drift"
    INACTIVITY = "inactivity"
    GEOFENCE_EXIT = "geofence_exit"
    GEOFENCE_ENTER = "geofence_enter"
    VEHICLE_SPEED = "vehicle_speed"
    STRAP_REMOVED = "strap_removed"
    BATTERY_DEPLETED = "battery_depleted"
    DEVICE_SILENT = "device_silent"
    LOW_BATTERY = "low_battery"
    RECONNECT_STORM = "reconnect_storm"
    # smart service pack (a home hub and its sensors); ``evidence`` names ``sensor_id`` and ``room``
    SMOKE = "smoke"  # smoke detector alarm
    GAS = "gas"  # gas (methane / CO) detector alarm
    WATER_LEAK = "water_leak"  # water-leak sensor alarm (a tap left running)
    PULL_CORD = "pull_cord"  # the emergency pull-cord: an alarm like SOS
    DOOR_OPEN_NIGHT = "door_open_night"  # the front door left open at night
    NIGHT_WANDERING = "night_wandering"  # the door opened at night and nobody came back
    SENSOR_FAULT = "sensor_fault"  # a detector alarming again and again (muted), tamper, sensor battery


DEFAULT_SEVERITY: dict[EventKind, Severity] = {
    EventKind.SOS: Severity.P1,
    EventKind.SOS_CANCEL: Severity.P1,
    EventKind.FALL: Severity.P1,
    EventKind.FALL_DEVICE: Severity.P1,
    EventKind.HR_HIGH: Severity.P2,
    EventKind.HR_LOW: Severity.P2,
    EventKind.SPO2_LOW: Severity.P2,
    EventKind.VITALS_DRIFT: Severity.P3,
    EventKind.INACTIVITY: Severity.P3,
    EventKind.GEOFENCE_EXIT: Severity.P2,
    EventKind.GEOFENCE_ENTER: Severity.P4,
    EventKind.VEHICLE_SPEED: Severity.P2,
    EventKind.STRAP_REMOVED: Severity.P3,
    EventKind.BATTERY_DEPLETED: Severity.P3,
    EventKind.DEVICE_SILENT: Severity.P3,
    EventKind.LOW_BATTERY: Severity.P4,
    EventKind.RECONNECT_STORM: Severity.P4,
    EventKind.SMOKE: Severity.P1,
    EventKind.GAS: Severity.P1,
    EventKind.WATER_LEAK: Severity.P2,
    EventKind.PULL_CORD: Severity.P1,
    EventKind.DOOR_OPEN_NIGHT: Severity.P3,
    EventKind.NIGHT_WANDERING: Severity.P2,
    EventKind.SENSOR_FAULT: Severity.P3,
}


# Events that are the device's own alarm message: keyed by the message itself, acknowledged to the device.
DEVICE_ALARM_KINDS = frozenset(
    {EventKind.SOS, EventKind.SOS_CANCEL, EventKind.FALL_DEVICE, EventKind.PULL_CORD}
)
# Alarms that must reach a human even from a device nobody has registered (an unassigned incident); the
# gateway also sends them first. A home hub's pull-cord, smoke, gas and water-leak alarms are among them.
LIFE_ALARM_KINDS = frozenset(
    {
        EventKind.SOS,
        EventKind.FALL,
        EventKind.FALL_DEVICE,
        EventKind.PULL_CORD,
        EventKind.SMOKE,
        EventKind.GAS,
        EventKind.WATER_LEAK,
    }
)
EDGE_EVENT_VERSION: Final = 2


class EdgeEvent(BaseModel):
    """One alarm-worthy event, as the gateway reports it to the district center."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    v: Literal[1, 2] = EDGE_EVENT_VERSION
    key: Annotated[str, Field(min_length=3, max_length=140, pattern=r"^[A-Za-z0-9_.\-]+:[A-Za-z0-9_.\-]+$")]
    edge_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
    device_id: DeviceId
    boot: Annotated[int, Field(ge=0, le=BOOT_MAX)] = 0
    seq: Annotated[int, Field(ge=0, le=SEQ_MAX)]
    kind: EventKind
    severity: Severity
    device_ts: Annotated[int, Field(ge=0, description="device clock at the cause, epoch ms")]
    edge_ts: Annotated[int, Field(ge=0, description="gateway clock when received, epoch ms")]
    ref_key: Annotated[str, Field(max_length=140)] | None = None
    fix: Fix | None = None
    detail: Annotated[str, Field(max_length=200)] | None = None
    evidence: Annotated[dict[str, Any], Field(max_length=EVIDENCE_MAX_ITEMS)] | None = None
    digest: Annotated[str, Field(pattern=DIGEST_PATTERN)] | None = Field(
        None, description="identity of the device message that caused the event (contracts.identity)"
    )
    unassigned: bool = Field(False, description="the gateway does not have this device on its list")
    edge_notified: Annotated[list[EdgeNotice], Field(max_length=MAX_GUARDIANS)] | None = Field(
        None, description="guardians the edge already texted itself (degraded mode): not to be texted again"
    )


def derived_keys(event: EdgeEvent) -> frozenset[str]:
    """Every key the body of ``event`` can carry: its device, boot, seq and kind (and digest) decide."""
    if event.kind in DEVICE_ALARM_KINDS:
        keys = {event_key(event.device_id, event.seq, event.boot)}
    else:
        keys = {
            finding_key(event.device_id, event.seq, event.boot, event.kind.value),
            tick_key(event.device_id, event.seq, event.boot, event.kind.value, event.device_ts),
        }
    if event.digest is not None:
        keys |= {variant_key(key, event.digest) for key in keys}
    return frozenset(keys)


def key_is_derived(event: EdgeEvent) -> bool:
    """True when ``event.key`` follows from its body, so no one can take another alarm's key ahead."""
    return event.key in derived_keys(event)


class IntakeAck(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    key: str
    incident_id: str
    duplicate: bool = False


class IntakeBatch(BaseModel):
    """Many events in one ``POST``: a draining gateway's backlog. Stored in the order given (a device's
    events in its order), each exactly as if posted alone."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    events: Annotated[list[EdgeEvent], Field(min_length=1, max_length=INTAKE_BATCH_MAX)]


class IntakeResult(BaseModel):
    """One event's answer in a batch: ``status`` is what the single ``POST`` would have answered
    (201 new, 200 duplicate, 403/422 refused for good, 409 retry); ``error`` says why when refused."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    key: str
    status: int
    incident_id: str = ""
    duplicate: bool = False
    error: str | None = None


class IntakeBatchAck(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    results: list[IntakeResult]


class EdgeCommand(BaseModel):
    """A downlink the cloud asks the edge to deliver to one device."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Annotated[int, Field(ge=1)]
    edge_id: str
    device_id: DeviceId
    downlink: Annotated[DownlinkMessage, Field(discriminator="type")]
