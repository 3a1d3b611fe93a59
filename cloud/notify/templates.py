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

# Until an operator claims the incident the texts say "alarm raised", never "the center has accepted".
ALERT = {
    "zh": "【安心】您的家人{name}的{device}于{time}{what}，已发出警报。"
    "回复1表示您正前往，回复2表示无法前往。",
    "en": "[Anxin] Alarm raised: the {device} of your family member {name} {what} at {time}. "
    "Reply 1 if you are going, 2 if you cannot.",
}
VOICE = {
    "zh": "这里是安心平台。您的家人{name}的{device}于{time}{what}，已发出警报。"
    "如果您正前往，请按1；如果无法前往，请按2。",
    "en": "This is Anxin. Alarm raised: the {device} of your family member {name} {what} at {time}. "
    "Press 1 if you are going, or 2 if you cannot.",
}
CLAIMED = {
    "zh": "【安心】关于{name}的警报：值班员已接警，正在处理。",
    "en": "[Anxin] About {name}'s alarm: an operator at the care center has taken it and is handling it.",
}
CLOSED = {
    "zh": "【安心】关于{name}的警报已处理完毕，谢谢。",
    "en": "[Anxin] {name}'s alarm is closed. Thank you.",
}
SUMMARY = {
    "zh": "【安心】{name}在过去10分钟内另有{count}条警报，为免打扰已合并。请留意中心来电。",
    "en": "[Anxin] {count} more alarms for {name} in the last 10 minutes were combined into this message. "
    "The care center may call you.",
}
DRILL_PREFIX = {"zh": "【演练】", "en": "[DRILL] "}


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


def _fill(
    texts: dict[str, str],
    *,
    language: str,
    masked_name: str,
    device_kind: str,
    incident_kind: str,
    at_ms: int,
) -> str:
    lang = language_of(language)
    device = DEVICE_LABEL[lang].get(device_kind, DEVICE_LABEL[lang][DeviceKind.SOS_CARD])
    what = WHAT[lang].get(incident_kind, WHAT[lang]["device"])
    return texts[lang].format(name=masked_name, device=device, time=local_time(at_ms), what=what)


def voice_text(*, language: str, masked_name: str, device_kind: str, incident_kind: str, at_ms: int) -> str:
    """What the voice call says (keypad: 1 going, 2 cannot)."""
    return _fill(
        VOICE,
        language=language,
        masked_name=masked_name,
        device_kind=device_kind,
        incident_kind=incident_kind,
        at_ms=at_ms,
    )


def follow_up_text(*, language: str, masked_name: str, closed: bool) -> str:
    """The follow-up after an operator claims the incident, or when it is closed."""
    return (CLOSED if closed else CLAIMED)[language_of(language)].format(name=masked_name)


def summary_text(*, language: str, masked_name: str, count: int) -> str:
    """Alerts held back by the per-recipient budget, folded into one message."""
    return SUMMARY[language_of(language)].format(name=masked_name, count=count)


def drill_marked(text: str, language: str) -> str:
    return DRILL_PREFIX[language_of(language)] + text


# What a voice call says around the alarm text (Twilio <Say>, in the contact's language).
VOICE_LANGUAGE = {"zh": "zh-CN", "en": "en-US"}
VOICE_PROMPT = {
    "again": {
        "zh": "请按1表示您正前往，按2表示无法前往。",
        "en": "Press 1 if you are going, or 2 if you cannot.",
    },
    "no_key": {
        "zh": "未收到按键，我们将联系下一位联系人。再见。",
        "en": "No key was pressed. We will call the next contact. Goodbye.",
    },
    "going": {
        "zh": "已收到：您正前往，谢谢。再见。",
        "en": "Thank you: we noted that you are going. Goodbye.",
    },
    "cannot": {
        "zh": "已收到，我们将联系下一位联系人，谢谢。再见。",
        "en": "Understood, we are calling the next contact. Goodbye.",
    },
    "gone": {
        "zh": "这里是安心平台。该警报已处理，谢谢。再见。",
        "en": "This is Anxin. This alarm has been handled. Goodbye.",
    },
    "connecting": {"zh": "安心平台，正在为您接通。", "en": "Anxin: connecting your call."},
}


def voice_prompt(key: str, language: str) -> tuple[str, str]:
    """A fixed voice prompt and the ``<Say language>`` it is spoken in."""
    lang = language_of(language)
    return VOICE_PROMPT[key][lang], VOICE_LANGUAGE[lang]
