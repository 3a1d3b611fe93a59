"""Pure device models: state machines advanced by ``step(now_ms)`` and fed downlinks."""

from firmware_sim.models.base import DeviceModel, Injection, Outgoing
from firmware_sim.models.card import SosCard
from firmware_sim.models.child import ChildMonitor
from firmware_sim.models.display import DisplayState
from firmware_sim.models.factory import build_device
from firmware_sim.models.home_hub import HomeHub
from firmware_sim.models.wearable import AccelMode, Wearable

__all__ = [
    "AccelMode",
    "ChildMonitor",
    "DeviceModel",
    "DisplayState",
    "HomeHub",
    "Injection",
    "Outgoing",
    "SosCard",
    "Wearable",
    "build_device",
]
