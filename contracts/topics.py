"""MQTT topic builders and parsers.

Uplink and downlink are separate per-device subtrees so that a broker ACL can pin each device to its
own (username = device id)::

    pattern write anxin/v1/up/%u/#
    pattern read  anxin/v1/down/%u/#

Uplink:   ``anxin/v1/up/{device_id}/{channel}``   channel in :class:`UplinkChannel`
Downlink: ``anxin/v1/down/{device_id}/{channel}`` channel in :class:`DownlinkChannel`
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from contracts.errors import ContractError, TopicError
from contracts.ids import validate_device_id

ROOT = "anxin/v1"
UPLINK_PREFIX = f"{ROOT}/up"
DOWNLINK_PREFIX = f"{ROOT}/down"


class UplinkChannel(StrEnum):
    SOS = "sos"  # SOS press and SOS cancel (QoS 1)
    FALL = "fall"  # device-side fall suspicion (QoS 1)
    ACCEL = "accel"  # accelerometer batches (QoS 0 allowed)
    VITALS = "vitals"  # heart rate / SpO2 (QoS 0 allowed)
    LOCATION = "location"  # location fixes
    STATUS = "status"  # heartbeat + battery
    WEAR = "wear"  # worn / removed (QoS 1)
    PRESENCE = "presence"  # online/offline, also the MQTT last will (retained, QoS 1)
    # smart service pack: the home hub publishes for its sensors (``sensor_id`` in the payload)
    HAZARD = "hazard"  # smoke / gas / water-leak alarm and clear (QoS 1, an alarm channel)
    PULL_CORD = "pull_cord"  # emergency pull-cord (QoS 1, an alarm channel like SOS)
    DOOR = "door"  # door contact open / closed (QoS 1)
    MOTION = "motion"  # PIR motion counts per interval (QoS 1: inactivity depends on them)
    SENSOR = "sensor"  # a sensor's battery and tamper state (QoS 1)


# Alarms: acknowledged to the broker (PUBACK) only once on disk, answered with ``AlarmReceived``, and
# never queued behind telemetry. The smart service pack's pull-cord and hazards (smoke, gas, water) too.
ALARM_CHANNELS = frozenset(
    {UplinkChannel.SOS, UplinkChannel.FALL, UplinkChannel.PULL_CORD, UplinkChannel.HAZARD}
)
_ALARM_CHANNEL_NAMES = frozenset(c.value for c in ALARM_CHANNELS)


class DownlinkChannel(StrEnum):
    ALARM = "alarm"  # alarm received / operator acknowledged / help coming
    CONFIG = "config"  # device configuration


@dataclass(frozen=True, slots=True)
class UplinkTopic:
    device_id: str
    channel: UplinkChannel

    def __str__(self) -> str:
        return f"{UPLINK_PREFIX}/{self.device_id}/{self.channel.value}"


def uplink_topic(device_id: str, channel: UplinkChannel | str) -> str:
    """The topic a device publishes ``channel`` messages on."""
    return f"{UPLINK_PREFIX}/{validate_device_id(device_id)}/{UplinkChannel(channel).value}"


def downlink_topic(device_id: str, channel: DownlinkChannel | str = DownlinkChannel.ALARM) -> str:
    """The topic a device subscribes to for ``channel`` messages."""
    return f"{DOWNLINK_PREFIX}/{validate_device_id(device_id)}/{DownlinkChannel(channel).value}"


def downlink_filter(device_id: str) -> str:
    """Subscription filter covering every downlink channel of one device."""
    return f"{DOWNLINK_PREFIX}/{validate_device_id(device_id)}/+"


def uplink_filter(shared_group: str | None = None) -> str:
    """Subscription filter for a gateway: every uplink of every device.

    With ``shared_group`` the filter is an MQTT 5 shared subscription (``$share/{group}/...``) so that
    several gateway workers split the load.
    """
    base = f"{UPLINK_PREFIX}/+/+"
    return f"$share/{shared_group}/{base}" if shared_group else base


def uplink_subtree() -> str:
    """Subscription filter for every uplink topic at any depth (monitoring, counting)."""
    return f"{UPLINK_PREFIX}/#"


def is_alarm_topic(topic: str) -> bool:
    """Whether ``topic`` is an uplink topic on an alarm channel (cheap: no full validation)."""
    return topic.startswith(UPLINK_PREFIX) and is_alarm_channel(topic)


def is_alarm_channel(topic: str) -> bool:
    """Whether ``topic`` ends in an alarm channel (:data:`ALARM_CHANNELS`). Cheap and without validation:
    it runs on the MQTT network thread for every message, before the payload is looked at."""
    return topic.rpartition("/")[2] in _ALARM_CHANNEL_NAMES


TELEMETRY_CHANNELS = frozenset(c for c in UplinkChannel if c not in ALARM_CHANNELS)
TELEMETRY_CHANNEL_NAMES = frozenset(c.value for c in TELEMETRY_CHANNELS)


def uplink_filters(channels: Iterable[UplinkChannel], shared_group: str | None = None) -> list[str]:
    """One subscription filter per channel (every device), in channel order; e.g. the gateway's alarm
    lane: ``uplink_filters(ALARM_CHANNELS)`` → ``["anxin/v1/up/+/sos", "anxin/v1/up/+/fall"]``."""
    prefix = f"$share/{shared_group}/" if shared_group else ""
    wanted = set(channels)
    return [f"{prefix}{UPLINK_PREFIX}/+/{c.value}" for c in UplinkChannel if c in wanted]


def parse_uplink_topic(topic: str) -> UplinkTopic:
    """Split an uplink topic into device id and channel; raise :class:`TopicError` if it is not one."""
    prefix = UPLINK_PREFIX + "/"
    if not topic.startswith(prefix):
        raise TopicError("not an Anxin uplink topic", field="topic")
    rest = topic[len(prefix) :].split("/")
    if len(rest) != 2:
        raise TopicError("uplink topic must be anxin/v1/up/{device_id}/{channel}", field="topic")
    device_id, channel = rest
    try:
        validate_device_id(device_id)
    except ContractError as exc:
        raise TopicError(str(exc), field="topic") from exc
    try:
        parsed_channel = UplinkChannel(channel)
    except ValueError as exc:
        raise TopicError("unknown uplink channel", field="topic") from exc
    return UplinkTopic(device_id=device_id, channel=parsed_channel)


def parse_downlink_topic(topic: str) -> tuple[str, DownlinkChannel]:
    """Split a downlink topic into device id and channel."""
    prefix = DOWNLINK_PREFIX + "/"
    if not topic.startswith(prefix):
        raise TopicError("not an Anxin downlink topic", field="topic")
    rest = topic[len(prefix) :].split("/")
    if len(rest) != 2:
        raise TopicError("downlink topic must be anxin/v1/down/{device_id}/{channel}", field="topic")
    try:
        return validate_device_id(rest[0]), DownlinkChannel(rest[1])
    except (ContractError, ValueError) as exc:
        raise TopicError("bad downlink topic", field="topic") from exc
