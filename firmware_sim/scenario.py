"""Scenario files (YAML): scripted events, random background rates, faults → one sorted timeline.

Building the timeline is pure and deterministic for a given seed. See ``scenarios/*.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contracts import DeviceKind
from firmware_sim.fleet import (
    DeviceSpec,
    FleetError,
    FleetFile,
    FleetIndex,
    fleet_from_file_model,
    fleet_from_mix,
)
from firmware_sim.fleet import parse_mix as parse_mix_text
from firmware_sim.groundtruth import CST
from firmware_sim.randomness import device_rng
from firmware_sim.timeparse import TimeFormatError, parse_at_ms, parse_duration_s, parse_start

DAY_S = 86_400.0

KIND_ALIASES = {
    "fence_exit": "geofence_exit",
    "silent": "device_silent",
    "goes_silent": "device_silent",
    "strap_removal": "strap_removed",
    "removed": "strap_removed",
}
DEVICE_EVENTS: dict[str, frozenset[DeviceKind]] = {
    "sos": frozenset(DeviceKind),
    "fall": frozenset({DeviceKind.WEARABLE}),
    "adl_bump": frozenset({DeviceKind.WEARABLE}),
    "hr_high": frozenset({DeviceKind.WEARABLE}),
    "hr_low": frozenset({DeviceKind.WEARABLE}),
    "spo2_low": frozenset({DeviceKind.WEARABLE}),
    "strap_removed": frozenset({DeviceKind.WEARABLE, DeviceKind.CHILD_MONITOR}),
    "geofence_exit": frozenset({DeviceKind.CHILD_MONITOR}),
    "device_silent": frozenset(DeviceKind),
    "battery_depleted": frozenset(DeviceKind),
    "low_battery": frozenset(DeviceKind),
    "clock_skew": frozenset(DeviceKind),
    "factory_reset": frozenset(DeviceKind),
    # the smart service pack's home hub (firmware_sim.models.home_hub)
    **{
        kind: frozenset({DeviceKind.HOME_HUB})
        for kind in (
            "smoke",
            "gas",
            "tap_running",
            "pull_cord",
            "nobody_up",
            "wandering",
            "door_left_open",
            "stuck_detector",
            "sensor_low_battery",
            "tamper",
        )
    },
}
LINK_EVENTS = frozenset({"offline", "reconnect_storm"})
ALL_KINDS = frozenset(DEVICE_EVENTS) | LINK_EVENTS
INTERNAL_KINDS = frozenset({"_online", "_power_on"})  # end of an offline period / silence; not truth


class ScenarioError(ValueError):
    """A scenario file is not valid."""


class EventSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: str | int | float
    kind: str
    subject: str | None = None
    device: str | None = None
    fraction: Annotated[float, Field(gt=0, le=1)] | None = None  # reconnect_storm / offline: share of fleet
    duration: str | int | float | None = None
    cancel_after: str | int | float | None = None  # sos: cancelled on the device after this long
    gets_up_after: str | int | float | None = None  # fall: the person gets up after this long
    skew: str | int | float | None = None  # clock_skew: how far the device clock runs ahead
    behind: bool = False  # clock_skew: the clock runs behind instead
    sensor: str | None = None  # home hub: which sensor (stuck_detector: smoke|gas|water; tamper: door, ...)
    period: str | int | float | None = None  # stuck_detector: how often it alarms

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        kind = KIND_ALIASES.get(value, value)
        if kind not in ALL_KINDS:
            raise ValueError(f"unknown event kind {value!r}; known: {', '.join(sorted(ALL_KINDS))}")
        return kind


class BackgroundSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rates_per_device_per_day: dict[str, Annotated[float, Field(ge=0, le=1_000)]] = {}
    fall_gets_up_share: Annotated[float, Field(ge=0, le=1)] = 0.5
    sos_cancel_share: Annotated[float, Field(ge=0, le=1)] = 0.2

    @field_validator("rates_per_device_per_day")
    @classmethod
    def _known(cls, value: dict[str, float]) -> dict[str, float]:
        out = {KIND_ALIASES.get(k, k): v for k, v in value.items()}
        unknown = set(out) - set(DEVICE_EVENTS)
        if unknown:
            raise ValueError(f"unknown background kinds: {sorted(unknown)}")
        return out


class FleetSection(FleetFile):
    total: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    mix: str | None = None


class ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "scenario"
    description: str = ""
    start: str | datetime
    duration: str | int | float
    fleet: FleetSection | None = None
    events: list[EventSpec] = []
    background: BackgroundSpec = BackgroundSpec()
    faults: dict[str, float] = {}  # per-message fault rates, as --faults


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    ts: int
    order: int  # tie-break: file order, then background
    device: int  # fleet index; -1 for fleet-wide events
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    truth: bool = True


@dataclass
class Scenario:
    name: str
    start_ms: int
    duration_s: float
    spec: ScenarioFile

    @property
    def end_ms(self) -> int:
        return self.start_ms + int(self.duration_s * 1000)


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc}") from None
    return parse_scenario(data)


def parse_scenario(data: Any) -> Scenario:
    try:
        spec = ScenarioFile.model_validate(data)
        start = parse_start(spec.start)
        return Scenario(spec.name, int(start.timestamp() * 1000), parse_duration_s(spec.duration), spec)
    except (ValidationError, TimeFormatError) as exc:
        raise ScenarioError(f"invalid scenario: {exc}") from None


def scenario_fleet(scenario: Scenario) -> list[DeviceSpec] | None:
    section = scenario.spec.fleet
    if section is None:
        return None
    fleet = fleet_from_file_model(section)
    if section.total:
        mix = parse_mix_text(section.mix) if section.mix else None
        taken = {d.device_id for d in fleet}
        fleet = [d for d in fleet_from_mix(section.total, mix) if d.device_id not in taken] + fleet
    return fleet


def _seconds(value: str | int | float | None) -> float | None:
    return None if value is None else parse_duration_s(value)


def build_timeline(scenario: Scenario, fleet: list[DeviceSpec], seed: int) -> list[TimelineEvent]:
    """Every event of the run, sorted by (time, order). Pure: same inputs → same timeline."""
    index = FleetIndex(fleet)
    start = datetime.fromtimestamp(scenario.start_ms / 1000, CST)
    events: list[TimelineEvent] = []
    order = 0
    for n, spec in enumerate(scenario.spec.events):
        try:
            ts = parse_at_ms(spec.at, start)
            targets = _targets(spec, index, fleet, seed, n)
        except (TimeFormatError, FleetError) as exc:
            raise ScenarioError(f"event {n + 1} ({spec.kind}): {exc}") from None
        params = _params(spec)
        if spec.kind == "reconnect_storm":
            events.append(
                TimelineEvent(ts, order, -1, "reconnect_storm", {**params, "devices": len(targets)})
            )
            order += 1
        for target in targets:
            allowed = DEVICE_EVENTS.get(spec.kind)
            if allowed is not None and fleet[target].kind not in allowed:
                raise ScenarioError(f"event {n + 1}: a {fleet[target].kind.value} cannot do {spec.kind}")
            storm = spec.kind == "reconnect_storm"
            kind = "offline" if storm else spec.kind
            events.append(TimelineEvent(ts, order, target, kind, params, truth=not storm))
            order += 1
            back_s = params.get("duration_s", 0.0 if storm else None)
            if kind in ("offline", "device_silent", "battery_depleted") and back_s is not None:
                back = "_online" if kind == "offline" else "_power_on"
                events.append(TimelineEvent(ts + int(back_s * 1000), order, target, back, {}, truth=False))
                order += 1
    events.extend(_background(scenario, fleet, seed, order))
    events.sort(key=lambda e: (e.ts, e.order))
    return [e for e in events if e.ts < scenario.end_ms]


def _targets(spec: EventSpec, index: FleetIndex, fleet: list[DeviceSpec], seed: int, n: int) -> list[int]:
    name = spec.device or spec.subject
    if name is not None:
        return [index.resolve(name)]
    if spec.fraction is None:
        raise FleetError("needs a device, a subject or (offline, reconnect_storm) a fraction")
    if spec.kind not in LINK_EVENTS:
        raise FleetError("only offline and reconnect_storm apply to a fraction of the fleet")
    rng = device_rng(seed, f"event-{n}", "fraction")
    return [i for i in range(len(fleet)) if rng.random() < spec.fraction]


def _params(spec: EventSpec) -> dict[str, Any]:
    params: dict[str, Any] = {}
    duration = _seconds(spec.duration)
    if duration is not None:
        params["duration_s"] = duration
    if spec.cancel_after is not None:
        params["cancel_after_s"] = _seconds(spec.cancel_after)
    if spec.gets_up_after is not None:
        params["get_up_after_s"] = _seconds(spec.gets_up_after)
    if spec.sensor is not None:
        params["sensor"] = spec.sensor
    if spec.period is not None:
        params["period_s"] = _seconds(spec.period)
    if spec.skew is not None:
        negative = isinstance(spec.skew, int | float) and spec.skew < 0
        skew = -float(spec.skew) if negative else (_seconds(spec.skew) or 0.0)
        skew = -skew if negative else skew
        params["skew_s"] = -skew if spec.behind else skew
    return params


def _background(scenario: Scenario, fleet: list[DeviceSpec], seed: int, order: int) -> list[TimelineEvent]:
    bg = scenario.spec.background
    rates = {k: v for k, v in sorted(bg.rates_per_device_per_day.items()) if v > 0}
    events: list[TimelineEvent] = []
    if not rates:
        return events
    for i, spec in enumerate(fleet):
        rng = device_rng(seed, spec.device_id, "background")
        for kind, rate in rates.items():
            if spec.kind not in DEVICE_EVENTS[kind]:
                continue
            t = float(rng.exponential(DAY_S / rate))
            while t < scenario.duration_s:
                params = _background_params(kind, bg, rng)
                events.append(TimelineEvent(scenario.start_ms + int(t * 1000), order + i, i, kind, params))
                if kind in ("device_silent", "battery_depleted"):
                    break  # a silent device stays silent in background mode
                t += float(rng.exponential(DAY_S / rate))
    return events


def _background_params(kind: str, bg: BackgroundSpec, rng: Any) -> dict[str, Any]:
    if kind == "fall" and rng.random() < bg.fall_gets_up_share:
        return {"get_up_after_s": float(round(rng.uniform(5.0, 60.0), 1))}
    if kind == "sos" and rng.random() < bg.sos_cancel_share:
        return {"cancel_after_s": float(round(rng.uniform(1.0, 8.0), 1))}
    if kind in ("hr_high", "hr_low", "spo2_low", "strap_removed"):
        return {"duration_s": float(round(rng.uniform(300.0, 1800.0)))}
    if kind == "geofence_exit":
        return {"duration_s": float(round(rng.uniform(600.0, 2400.0)))}
    return {}
