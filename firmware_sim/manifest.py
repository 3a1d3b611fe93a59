"""The fleet as the rest of the system needs to know it: device, kind, subject; a child's fences."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from firmware_sim.models.child import ChildMonitor
from firmware_sim.models.factory import build_device

if TYPE_CHECKING:
    from firmware_sim.runner import RunConfig


def fleet_manifest(config: RunConfig) -> dict[str, Any]:
    """Device list for registering the fleet; child monitors carry their home/school fences and hours.

    Contains locations of homes and schools: it is configuration for the edge, never a log line.
    """
    devices: list[dict[str, Any]] = []
    for spec in config.fleet:
        entry: dict[str, Any] = {
            "device_id": spec.device_id,
            "kind": spec.kind.value,
            "subject_id": spec.subject_id,
        }
        model = build_device(
            spec.device_id, spec.kind, subject_id=spec.subject_id, seed=config.seed, start_ms=0
        )
        if isinstance(model, ChildMonitor):
            entry.update(model.manifest())
        devices.append(entry)
    return {"seed": config.seed, "devices": devices}
