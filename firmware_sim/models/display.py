"""What a device shows its wearer (state and zh-CN / English text)."""

from __future__ import annotations

from enum import StrEnum


class DisplayState(StrEnum):
    """What the device shows its wearer."""

    IDLE = "idle"
    ALARM_SENT = "alarm_sent"  # 求助已发出
    ALARM_RECEIVED = "alarm_received"  # 待响应
    HELP_COMING = "help_coming"  # 救助人员正在赶来


DISPLAY_TEXT: dict[DisplayState, tuple[str, str]] = {
    DisplayState.IDLE: ("", ""),
    DisplayState.ALARM_SENT: ("求助已发出", "Alarm sent"),
    DisplayState.ALARM_RECEIVED: ("已收到求助，待响应", "Alarm received, waiting for an operator"),
    DisplayState.HELP_COMING: ("已收到求助，救助人员正在赶来", "Help is coming"),
}
