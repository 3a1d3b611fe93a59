"""Fleet definition: which devices exist, their kinds, and the subject ids scenarios refer to.

Convention (documented in docs/simulator.md): ``card-0120`` is carried by subject ``D120``, ``wear-0017``
by elder ``E017``, ``kid-0003`` by child ``C003``. A fleet file may list devices and subjects explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts import DeviceKind, validate_device_id


class FleetError(ValueError):
    """A fleet spec (mix, file, device reference) is not valid."""


PREFIX = {
    DeviceKind.SOS_CARD: "card",
    DeviceKind.WEARABLE: "wear",
    DeviceKind.CHILD_MONITOR: "kid",
    DeviceKind.HOME_HUB: "hub",
}
SUBJECT_LETTER = {
    DeviceKind.SOS_CARD: "D",
    DeviceKind.WEARABLE: "E",
    DeviceKind.CHILD_MONITOR: "C",
    DeviceKind.HOME_HUB: "H",
}
KIND_ALIASES = {
    "card": DeviceKind.SOS_CARD,
    "sos_card": DeviceKind.SOS_CARD,
    "wearable": DeviceKind.WEARABLE,
    "wear": DeviceKind.WEARABLE,
    "child": DeviceKind.CHILD_MONITOR,
    "kid": DeviceKind.CHILD_MONITOR,
    "child_monitor": DeviceKind.CHILD_MONITOR,
    "hub": DeviceKind.HOME_HUB,
    "home_hub": DeviceKind.HOME_HUB,
}
DEFAULT_MIX = {DeviceKind.SOS_CARD: 0.5, DeviceKind.WEARABLE: 0.4, DeviceKind.CHILD_MONITOR: 0.1}
_SUBJECT_RE = re.compile(r"^([DECH])(\d+)$")


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    device_id: str
    kind: DeviceKind
    subject_id: str


def parse_kind(name: str) -> DeviceKind:
    try:
        return KIND_ALIASES[name.strip().lower()]
    except KeyError:
        raise FleetError(f"unknown device kind {name!r} (card, wearable, child, hub)") from None


def parse_mix(text: str) -> dict[DeviceKind, float]:
    """``card=0.5,wearable=0.4,child=0.1`` → shares per kind (normalised to sum 1)."""
    mix: dict[DeviceKind, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise FleetError(f"mix entry {part!r} must look like kind=share")
        try:
            share = float(value)
        except ValueError:
            raise FleetError(f"mix share {value!r} is not a number") from None
        if share < 0:
            raise FleetError("mix shares must be >= 0")
        mix[parse_kind(name)] = share
    total = sum(mix.values())
    if total <= 0:
        raise FleetError("mix shares must add up to more than 0")
    return {kind: share / total for kind, share in mix.items()}


def counts_for(total: int, mix: dict[DeviceKind, float]) -> dict[DeviceKind, int]:
    """Split ``total`` devices by ``mix`` (largest remainder, so counts add up exactly)."""
    if total < 0:
        raise FleetError("device count must be >= 0")
    exact = {kind: total * share for kind, share in mix.items()}
    counts = {kind: int(value) for kind, value in exact.items()}
    for kind in sorted(exact, key=lambda k: (counts[k] - exact[k], k.value))[: total - sum(counts.values())]:
        counts[kind] += 1
    return counts


def device_id_for(kind: DeviceKind, number: int) -> str:
    return f"{PREFIX[kind]}-{number:04d}"


def subject_for(kind: DeviceKind, number: int) -> str:
    return f"{SUBJECT_LETTER[kind]}{number:03d}"


def fleet_from_counts(counts: dict[DeviceKind, int]) -> list[DeviceSpec]:
    fleet: list[DeviceSpec] = []
    for kind in (DeviceKind.SOS_CARD, DeviceKind.WEARABLE, DeviceKind.CHILD_MONITOR, DeviceKind.HOME_HUB):
        for n in range(1, counts.get(kind, 0) + 1):
            fleet.append(DeviceSpec(device_id_for(kind, n), kind, subject_for(kind, n)))
    return fleet


def fleet_from_mix(total: int, mix: dict[DeviceKind, float] | None = None) -> list[DeviceSpec]:
    return fleet_from_counts(counts_for(total, mix or DEFAULT_MIX))


class _FleetDevice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    kind: str
    subject: str | None = None


class FleetFile(BaseModel):
    """``counts: {card: 10, wearable: 5}`` and/or ``devices: [{id, kind, subject}]``."""

    model_config = ConfigDict(extra="forbid")
    counts: dict[str, Annotated[int, Field(ge=0, le=1_000_000)]] = {}
    devices: list[_FleetDevice] = []


def fleet_from_file_model(spec: FleetFile) -> list[DeviceSpec]:
    fleet = fleet_from_counts({parse_kind(k): v for k, v in spec.counts.items()})
    for item in spec.devices:
        kind = parse_kind(item.kind)
        try:
            device_id = validate_device_id(item.id)
        except ValueError as exc:
            raise FleetError(str(exc)) from None
        fleet.append(DeviceSpec(device_id, kind, item.subject or device_id))
    return check_unique(fleet)


def load_fleet(path: Path) -> list[DeviceSpec]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return fleet_from_file_model(FleetFile.model_validate(data or {}))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise FleetError(f"cannot load fleet {path}: {exc}") from None


def check_unique(fleet: list[DeviceSpec]) -> list[DeviceSpec]:
    seen: set[str] = set()
    for spec in fleet:
        if spec.device_id in seen:
            raise FleetError(f"device {spec.device_id} is listed twice")
        seen.add(spec.device_id)
    return fleet


class FleetIndex:
    """Resolves scenario references (device id, subject id, or the D/E/C shorthand) to fleet positions."""

    def __init__(self, fleet: list[DeviceSpec]) -> None:
        self.fleet = fleet
        self._by_name: dict[str, int] = {}
        for index, spec in enumerate(fleet):
            self._by_name[spec.device_id] = index
            self._by_name.setdefault(spec.subject_id, index)

    def resolve(self, name: str) -> int:
        if name in self._by_name:
            return self._by_name[name]
        match = _SUBJECT_RE.match(name)
        if match:
            kind = next(k for k, letter in SUBJECT_LETTER.items() if letter == match.group(1))
            device_id = device_id_for(kind, int(match.group(2)))
            if device_id in self._by_name:
                return self._by_name[device_id]
        raise FleetError(f"{name!r} is not a device or subject of this fleet")
