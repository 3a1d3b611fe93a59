"""Every SMS text, in Chinese and English. Short and privacy-safe: masked surname, device, time.

No address, no location, no vitals. Times are shown in China Standard Time (UTC+8, no DST).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from contracts.home import ROOM_LABEL, Room
from contracts.ids import DeviceKind

CHINA_TZ = timezone(timedelta(hours=8), "CST")

DEVICE_LABEL: dict[str, dict[str, str]] = {
    "zh": {
        DeviceKind.SOS_CARD: "助老卡",
        DeviceKind.WEARABLE: "智能手环",
        DeviceKind.CHILD_MONITOR: "儿童手表",
        DeviceKind.HOME_HUB: "智慧助老服务包",
    },
    "en": {
        DeviceKind.SOS_CARD: "assistance card",
        DeviceKind.WEARABLE: "wearable alarm",
        DeviceKind.CHILD_MONITOR: "child watch",
        DeviceKind.HOME_HUB: "home safety sensors",
    },
}

WHAT: dict[str, dict[str, str]] = {
    "zh": {
        "sos": "发出紧急求助",
        "fall": "检测到疑似跌倒",
        "vitals": "监测到健康指标异常",
        "geofence": "提示离开安全区域",
        "speed": "提示处于高速移动中",
        "inactivity": "提示长时间无活动",
        "wear": "提示设备已被摘下",
        "device": "提示设备异常",
        "battery": "电量不足",
        "smoke": "检测到烟雾报警",
        "gas": "检测到燃气泄漏报警",
        "water_leak": "检测到漏水",
        "wandering": "提示夜间出门未归",
        "door": "提示夜间入户门未关",
    },
    "en": {
        "sos": "sent an emergency call",
        "fall": "detected a possible fall",
        "vitals": "detected abnormal health readings",
        "geofence": "reported leaving the safe area",
        "speed": "reported fast travel",
        "inactivity": "reported no activity for a long time",
        "wear": "reported being taken off",
        "device": "reported a fault",
        "battery": "reported a low battery",
        "smoke": "reported a smoke alarm",
        "gas": "reported a gas alarm",
        "water_leak": "reported a water leak",
        "wandering": "reported the front door opened at night with no return",
        "door": "reported the front door left open at night",
    },
}

ALERT = {
    "zh": "【安心】您的家人{name}的{device}于{time}{what}，中心已受理，正在联系。回复1表示您已知悉。",
    "en": "[Anxin] The {device} of your family member {name} {what} at {time}. "
    "The care center is on it and will contact you. Reply 1 to confirm you have seen this.",
}


def language_of(value: str) -> str:
    return "en" if value.lower().startswith("en") else "zh"


def local_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).astimezone(CHINA_TZ).strftime("%H:%M")


def alert_text(
    *,
    language: str,
    masked_name: str,
    device_kind: str,
    incident_kind: str,
    at_ms: int,
    room: str | None = None,
) -> str:
    """The guardian alert for a new incident. ``masked_name`` must already be masked (``王**``).

    ``room`` (a :class:`contracts.home.Room` value) names where a home sensor raised it (``（厨房）``)."""
    lang = language_of(language)
    device = DEVICE_LABEL[lang].get(device_kind, DEVICE_LABEL[lang][DeviceKind.SOS_CARD])
    what = WHAT[lang].get(incident_kind, WHAT[lang]["device"])
    if room in ROOM_LABEL[lang]:
        label = ROOM_LABEL[lang][Room(room)]
        what = f"{what}（{label}）" if lang == "zh" else f"{what} ({label})"
    return ALERT[lang].format(name=masked_name, device=device, time=local_time(at_ms), what=what)
