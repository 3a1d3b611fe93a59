"""The incident lifecycle, pure: states, allowed transitions, fusion and severity rules. No I/O.

``new → acknowledged → dispatched → resolved`` (with an outcome code), plus ``cancelled`` (the person
cancelled on the device) and ``false_alarm``. Times are epoch milliseconds passed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from contracts.intake import EventKind, Severity


class Status(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    FALSE_ALARM = "false_alarm"


OPEN_STATUSES = frozenset({Status.NEW, Status.ACKNOWLEDGED, Status.DISPATCHED})
CLOSED_STATUSES = frozenset({Status.RESOLVED, Status.CANCELLED, Status.FALSE_ALARM})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.ACKNOWLEDGED, Status.CANCELLED, Status.FALSE_ALARM}),
    Status.ACKNOWLEDGED: frozenset(
        {Status.DISPATCHED, Status.RESOLVED, Status.CANCELLED, Status.FALSE_ALARM}
    ),
    Status.DISPATCHED: frozenset({Status.RESOLVED, Status.CANCELLED, Status.FALSE_ALARM}),
    Status.RESOLVED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.FALSE_ALARM: frozenset(),
}


class Outcome(StrEnum):
    """How a resolved incident ended (operators pick one)."""

    HELPED_ON_SITE = "helped_on_site"  # 现场协助
    TAKEN_TO_HOSPITAL = "taken_to_hospital"  # 送医
    RESOLVED_BY_PHONE = "resolved_by_phone"  # 电话确认无碍
    GUARDIAN_HANDLED = "guardian_handled"  # 家属已处理
    OTHER = "other"


CANCELLED_OUTCOME = "cancelled_on_device"
FALSE_ALARM_OUTCOME = "false_alarm"


class IncidentKind(StrEnum):
    SOS = "sos"
    FALL = "fall"
    VITALS = "vitals"
    INACTIVITY = "inactivity"
    GEOFENCE = "geofence"
    SPEED = "speed"
    WEAR = "wear"
    DEVICE = "device"
    BATTERY = "battery"
    # smart service pack (home hub): hazards first, then the front door at night
    SMOKE = "smoke"
    GAS = "gas"
    WATER_LEAK = "water_leak"
    WANDERING = "wandering"
    DOOR = "door"


KIND_OF_EVENT: dict[EventKind, IncidentKind] = {
    EventKind.SOS: IncidentKind.SOS,
    EventKind.FALL: IncidentKind.FALL,
    EventKind.FALL_DEVICE: IncidentKind.FALL,
    EventKind.HR_HIGH: IncidentKind.VITALS,
    EventKind.HR_LOW: IncidentKind.VITALS,
    EventKind.SPO2_LOW: IncidentKind.VITALS,
    EventKind.VITALS_DRIFT: IncidentKind.VITALS,
    EventKind.INACTIVITY: IncidentKind.INACTIVITY,
    EventKind.GEOFENCE_EXIT: IncidentKind.GEOFENCE,
    EventKind.GEOFENCE_ENTER: IncidentKind.GEOFENCE,
    EventKind.VEHICLE_SPEED: IncidentKind.SPEED,
    EventKind.STRAP_REMOVED: IncidentKind.WEAR,
    EventKind.BATTERY_DEPLETED: IncidentKind.DEVICE,
    EventKind.DEVICE_SILENT: IncidentKind.DEVICE,
    EventKind.RECONNECT_STORM: IncidentKind.DEVICE,
    EventKind.LOW_BATTERY: IncidentKind.BATTERY,
    EventKind.SMOKE: IncidentKind.SMOKE,
    EventKind.GAS: IncidentKind.GAS,
    EventKind.WATER_LEAK: IncidentKind.WATER_LEAK,
    EventKind.PULL_CORD: IncidentKind.SOS,  # a call for help like SOS: joins the person's open SOS
    EventKind.NIGHT_WANDERING: IncidentKind.WANDERING,
    EventKind.DOOR_OPEN_NIGHT: IncidentKind.DOOR,
    EventKind.SENSOR_FAULT: IncidentKind.DEVICE,  # a stuck detector, tamper: device health
}

# What the operator does first (console banner): smoke → 119 then the key-safe holder; gas → the gas
# company's emergency line (and 119) then the key-safe holder. Keys into the console's i18n table.
FIRST_STEPS: dict[IncidentKind, tuple[str, ...]] = {
    IncidentKind.SMOKE: ("call_119", "call_key_holder"),
    IncidentKind.GAS: ("call_gas_company", "call_119_if_fire", "call_key_holder"),
    IncidentKind.WATER_LEAK: ("call_key_holder", "call_property"),
}

# Kinds whose acknowledgement/closure is shown on the device (the person pressed or fell).
DEVICE_FEEDBACK_KINDS = frozenset({IncidentKind.SOS, IncidentKind.FALL})
# Severities that text the guardians at once.
NOTIFY_SEVERITIES = frozenset({Severity.P1, Severity.P2})

_RANK = {Severity.P1: 1, Severity.P2: 2, Severity.P3: 3, Severity.P4: 4}


class IllegalTransitionError(ValueError):
    def __init__(self, current: Status, wanted: Status) -> None:
        super().__init__(f"an incident that is {current.value} cannot become {wanted.value}")
        self.current = current
        self.wanted = wanted


def incident_kind_of(kind: EventKind) -> IncidentKind:
    """The incident an event opens or joins. Raises ``KeyError`` for ``sos_cancel`` (it opens none)."""
    return KIND_OF_EVENT[kind]


def higher_severity(a: Severity, b: Severity) -> Severity:
    """The more urgent of two severities (P1 is the most urgent)."""
    return a if _RANK[a] <= _RANK[b] else b


def is_open(status: Status) -> bool:
    return status in OPEN_STATUSES


def can_transition(current: Status, wanted: Status) -> bool:
    return wanted in TRANSITIONS[current]


def fusion_key(kind: IncidentKind, status: Status) -> str | None:
    """The value of the one-open-incident-per-(subject, kind) slot: the kind while open, else None."""
    return kind.value if is_open(status) else None


@dataclass(frozen=True, slots=True)
class LifecycleState:
    """The part of an incident the lifecycle decides on."""

    status: Status
    acknowledged_at: int | None = None
    dispatched_at: int | None = None
    resolved_at: int | None = None
    outcome: str | None = None
    acknowledged_by: str | None = None
    responder: str | None = None
    eta_min: int | None = None


def _move(state: LifecycleState, wanted: Status) -> None:
    if not can_transition(state.status, wanted):
        raise IllegalTransitionError(state.status, wanted)


def acknowledge(state: LifecycleState, *, operator: str, eta_min: int | None, now_ms: int) -> LifecycleState:
    _move(state, Status.ACKNOWLEDGED)
    return replace(
        state, status=Status.ACKNOWLEDGED, acknowledged_at=now_ms, acknowledged_by=operator, eta_min=eta_min
    )


def dispatch(state: LifecycleState, *, responder: str | None, now_ms: int) -> LifecycleState:
    _move(state, Status.DISPATCHED)
    return replace(state, status=Status.DISPATCHED, dispatched_at=now_ms, responder=responder)


def resolve(state: LifecycleState, *, outcome: Outcome, now_ms: int) -> LifecycleState:
    _move(state, Status.RESOLVED)
    return replace(state, status=Status.RESOLVED, resolved_at=now_ms, outcome=outcome.value)


def cancel(state: LifecycleState, *, now_ms: int) -> LifecycleState:
    _move(state, Status.CANCELLED)
    return replace(state, status=Status.CANCELLED, resolved_at=now_ms, outcome=CANCELLED_OUTCOME)


def mark_false_alarm(state: LifecycleState, *, now_ms: int) -> LifecycleState:
    _move(state, Status.FALSE_ALARM)
    return replace(state, status=Status.FALSE_ALARM, resolved_at=now_ms, outcome=FALSE_ALARM_OUTCOME)


def should_notify_guardians(severity: Severity) -> bool:
    return severity in NOTIFY_SEVERITIES


def wants_device_feedback(kind: IncidentKind) -> bool:
    return kind in DEVICE_FEEDBACK_KINDS
