"""The Anxin wire contract: MQTT topics, payload models, codec, limits and schema version.

The one package that edge, cloud and firmware_sim all import. See ``docs/protocol.md``.
"""

from contracts.codec import MAX_PAYLOAD_BYTES, decode_downlink, decode_uplink, encode
from contracts.downlink import (
    AlarmClosed,
    AlarmReceived,
    DeviceConfig,
    DownlinkMessage,
    OperatorAcknowledged,
)
from contracts.errors import ContractError
from contracts.home import (
    DoorState,
    Hazard,
    HazardAlarm,
    MotionCount,
    PullCordAlarm,
    Room,
    SensorStatus,
)
from contracts.identity import event_key, message_digest
from contracts.ids import DeviceKind, is_home_sensor, validate_device_id
from contracts.intake import EdgeCommand, EdgeEvent, EventKind, IntakeAck, Severity
from contracts.topics import (
    DownlinkChannel,
    UplinkChannel,
    downlink_filter,
    downlink_topic,
    is_alarm_channel,
    is_alarm_topic,
    parse_uplink_topic,
    uplink_filter,
    uplink_topic,
)
from contracts.uplink import (
    AccelBatch,
    AnyUplink,
    FallSuspected,
    Fix,
    Location,
    LocationSource,
    Presence,
    SosCancel,
    SosPress,
    Status,
    UplinkMessage,
    Vitals,
    WearState,
)
from contracts.version import SCHEMA_VERSION, SUPPORTED_VERSIONS

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "SCHEMA_VERSION",
    "SUPPORTED_VERSIONS",
    "AccelBatch",
    "AlarmClosed",
    "AlarmReceived",
    "AnyUplink",
    "ContractError",
    "DeviceConfig",
    "DeviceKind",
    "DoorState",
    "DownlinkChannel",
    "DownlinkMessage",
    "EdgeCommand",
    "EdgeEvent",
    "EventKind",
    "FallSuspected",
    "Fix",
    "Hazard",
    "HazardAlarm",
    "IntakeAck",
    "Location",
    "LocationSource",
    "MotionCount",
    "OperatorAcknowledged",
    "Presence",
    "PullCordAlarm",
    "Room",
    "SensorStatus",
    "Severity",
    "SosCancel",
    "SosPress",
    "Status",
    "UplinkChannel",
    "UplinkMessage",
    "Vitals",
    "WearState",
    "decode_downlink",
    "decode_uplink",
    "downlink_filter",
    "downlink_topic",
    "encode",
    "event_key",
    "is_alarm_channel",
    "is_alarm_topic",
    "is_home_sensor",
    "message_digest",
    "parse_uplink_topic",
    "uplink_filter",
    "uplink_topic",
    "validate_device_id",
]
