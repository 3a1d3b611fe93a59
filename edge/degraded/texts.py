"""The SMS the edge sends itself when the center has not confirmed an alarm (zh-CN first, English).

Privacy as in the center's texts: the person's masked name (surname + ``**``, masked by the cloud before
it reaches the edge), the device and the time — no address, no location, no vitals. Times are China
Standard Time (UTC+8, no DST).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from contracts import DeviceKind, EventKind

CHINA_TZ = timezone(timedelta(hours=8), "CST")

DEVICE_LABEL: dict[str, dict[DeviceKind | None, str]] = {
    "zh": {
        DeviceKind.SOS_CARD: "助老卡",
        DeviceKind.WEARABLE: "智能手环",
        DeviceKind.CHILD_MONITOR: "儿童手表",
        None: "安心设备",
    },
    "en": {
        DeviceKind.SOS_CARD: "assistance card",
        DeviceKind.WEARABLE: "wearable alarm",
        DeviceKind.CHILD_MONITOR: "child watch",
        None: "Anxin device",
    },
}

WHAT: dict[str, dict[EventKind, str]] = {
    "zh": {
        EventKind.SOS: "发出紧急求助",
        EventKind.FALL: "检测到疑似跌倒",
        EventKind.FALL_DEVICE: "检测到疑似跌倒",
    },
    "en": {
        EventKind.SOS: "sent an emergency call",
        EventKind.FALL: "detected a possible fall",
        EventKind.FALL_DEVICE: "detected a possible fall",
    },
}

ALERT = {
    "zh": "【安心】您的家人{name}的{device}于{time}{what}。服务中心暂时无法接通，请立即联系本人；"
    "如有危险请拨打120或110。",
    "en": "[Anxin] The {device} of your family member {name} {what} at {time}. The care center cannot be "
    "reached right now: please contact them at once, and call 120 or 110 if they are in danger.",
}


def language_of(value: str) -> str:
    return "en" if value.lower().startswith("en") else "zh"


def local_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).astimezone(CHINA_TZ).strftime("%H:%M")


def edge_alert_text(
    *, language: str, masked_name: str, device_kind: DeviceKind | None, event_kind: EventKind, at_ms: int
) -> str:
    """The guardian SMS for an alarm the center has not confirmed. ``masked_name`` is already masked."""
    lang = language_of(language)
    what = WHAT[lang].get(event_kind, WHAT[lang][EventKind.SOS])
    device = DEVICE_LABEL[lang].get(device_kind, DEVICE_LABEL[lang][None])
    return ALERT[lang].format(name=masked_name, device=device, time=local_time(at_ms), what=what)
