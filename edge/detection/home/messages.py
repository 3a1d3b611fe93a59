"""Feed one decoded hub message to its :class:`HomeMonitor` (shared by the gateway and the benchmark)."""

from __future__ import annotations

from contracts.home import DoorState, HazardAlarm, MotionCount, PullCordAlarm, SensorStatus
from contracts.uplink import UplinkMessage
from edge.detection.home.events import HomeEvent
from edge.detection.home.monitor import HomeMonitor


def observe(monitor: HomeMonitor, message: UplinkMessage, t_ms: int | None = None) -> list[HomeEvent]:
    """The events ``message`` completes, at ``t_ms`` (default: its own ``ts``); messages that are not
    the pack's just advance the clock."""
    t = message.ts if t_ms is None else t_ms
    if isinstance(message, MotionCount):
        return monitor.motion(t, message.sensor_id, message.count, message.interval_s)
    if isinstance(message, HazardAlarm):
        return monitor.hazard(t, message.sensor_id, message.hazard.value, message.state == "alarm")
    if isinstance(message, DoorState):
        return monitor.door(t, message.sensor_id, message.state == "open")
    if isinstance(message, PullCordAlarm):
        return monitor.pull_cord(t, message.sensor_id)
    if isinstance(message, SensorStatus):
        return monitor.sensor_status(
            t,
            message.sensor_id,
            low_battery=message.low_battery,
            tamper=message.tamper,
            battery_pct=message.battery_pct,
        )
    return monitor.tick(t)
