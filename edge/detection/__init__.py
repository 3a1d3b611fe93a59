"""Streaming detectors for Anxin (pure domain code: samples in, events out).

See docs/detection.md. Every detector is one instance per device or person, takes its
time from the samples/messages it is given, and returns a list of
:class:`~edge.detection.events.DetectionEvent`.
"""

from edge.detection.errors import DetectionError, InvalidInputError, OutOfOrderError
from edge.detection.events import (
    AccelWindow,
    DetectionEvent,
    EventKind,
    Evidence,
    FallEvent,
    GpsPoint,
    Severity,
    VitalPoint,
    severity_of,
)
from edge.detection.fall import FallDetector, FallScorer, PeakThresholdDetector
from edge.detection.fall_model import FallModel, load_default_model

__all__ = [
    "AccelWindow",
    "DetectionError",
    "DetectionEvent",
    "EventKind",
    "Evidence",
    "FallDetector",
    "FallEvent",
    "FallModel",
    "FallScorer",
    "GpsPoint",
    "InvalidInputError",
    "OutOfOrderError",
    "PeakThresholdDetector",
    "Severity",
    "VitalPoint",
    "load_default_model",
    "severity_of",
]
