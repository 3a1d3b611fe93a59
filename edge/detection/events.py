"""Events emitted by the detectors, their evidence, and the kind → severity mapping.

Every detector returns a list of :class:`DetectionEvent` (falls return the subclass
:class:`FallEvent`). Events are frozen, slotted dataclasses and carry all the evidence an
operator needs; they hold no personal data beyond the opaque ``source_id``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.intake import DEFAULT_SEVERITY, Severity
from contracts.intake import EventKind as EventKind  # noqa: PLC0414 - re-exported for the detectors


def severity_of(kind: EventKind) -> Severity:
    """Severity of an event kind (P1 fall/SOS … P4 battery): the wire contract's one table."""
    return DEFAULT_SEVERITY[kind]


@dataclass(frozen=True, slots=True, kw_only=True)
class AccelWindow:
    """Raw acceleration around an impact: ``samples[i]`` is (x, y, z) in g at
    ``t0_ms + i * 1000 / rate_hz``, rounded to 1 mg."""

    t0_ms: int
    rate_hz: float
    samples: tuple[tuple[float, float, float], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class VitalPoint:
    """One vital-sign reading as evidence; ``None`` = no valid reading (artifact/off)."""

    t_ms: int
    hr_bpm: float | None
    spo2_pct: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class GpsPoint:
    """One position fix as evidence (accuracy is the 1-sigma radius in metres)."""

    t_ms: int
    lat: float
    lon: float
    accuracy_m: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """What an operator sees next to an incident; every part is optional."""

    accel: AccelWindow | None = None
    vitals: tuple[VitalPoint, ...] = ()
    trail: tuple[GpsPoint, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectionEvent:
    """Something a detector decided.

    ``t_ms`` is the timestamp of the sample/message that completed the decision (the
    earliest moment the detector could know), ``onset_ms`` when the condition began
    (impact, first abnormal reading, last sign of life). ``reason`` is a short code such
    as ``"hr_above_limit"``; ``measures`` holds named numbers (limits, values, scores).
    """

    kind: EventKind
    source_id: str
    t_ms: int
    onset_ms: int
    reason: str
    measures: tuple[tuple[str, float], ...] = ()
    evidence: Evidence = field(default_factory=Evidence)

    @property
    def severity(self) -> Severity:
        """Severity from the wire contract's table (:func:`severity_of`)."""
        return severity_of(self.kind)

    def measure(self, name: str) -> float | None:
        """Value of a named measure, or ``None``."""
        for key, value in self.measures:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class FallEvent(DetectionEvent):
    """A fall: ``onset_ms`` is the impact; ``probability`` the model's score (1.0 for
    the threshold baseline); ``peak_g`` the impact magnitude; ``orientation_change_deg``
    the angle between the gravity direction before and after the impact."""

    probability: float
    peak_g: float
    orientation_change_deg: float
