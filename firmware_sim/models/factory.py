"""Build the right device model for a device kind."""

from __future__ import annotations

from contracts import DeviceKind
from firmware_sim.models.base import DeviceModel
from firmware_sim.models.card import SosCard
from firmware_sim.models.child import ChildMonitor
from firmware_sim.models.home_hub import HomeHub
from firmware_sim.models.wearable import AccelMode, Wearable
from firmware_sim.randomness import device_rng


def build_device(
    device_id: str,
    kind: DeviceKind,
    *,
    subject_id: str,
    seed: int,
    start_ms: int,
    accel_mode: AccelMode = AccelMode.FULL,
) -> DeviceModel:
    rng = device_rng(seed, device_id)
    if kind is DeviceKind.SOS_CARD:
        return SosCard(device_id, subject_id, rng, start_ms)
    if kind is DeviceKind.HOME_HUB:
        return HomeHub(device_id, subject_id, rng, start_ms)
    if kind is DeviceKind.WEARABLE:
        return Wearable(device_id, subject_id, rng, start_ms, accel_mode)
    return ChildMonitor(device_id, subject_id, rng, start_ms)
