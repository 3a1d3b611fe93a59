"""Streaming detectors for Anxin (pure domain code: samples in, events out).

See docs/detection.md. Every detector is one instance per device or person, takes its
time from the samples/messages it is given, and returns a list of
:class:`~edge.detection.events.DetectionEvent`.
"""

from edge.detection.child_monitor import ChildMonitorConfig, GeofenceMonitor, GpsFix
from edge.detection.device_health import DeviceHealthMonitor, HealthConfig
from edge.detection.errors import DetectionError, InvalidInputError, OutOfOrderError
from edge.detection.events import (
    AccelWindow,
    DetectionEvent,
    EventKind,
    Evidence,
    FallEvent,
    GpsPoint,
    VitalPoint,
    severity_of,
)
from edge.detection.fall import FallDetector, FallScorer, PeakThresholdDetector
from edge.detection.fall_model import FallModel, load_default_model
from edge.detection.geofence import CircleFence, PolygonFence, WeeklySchedule
from edge.detection.inactivity import InactivityConfig, InactivityDetector
from edge.detection.incidents import (
    CancelWindow,
    IncidentAction,
    IncidentBuilder,
    IncidentCandidate,
    IncidentStatus,
    IncidentUpdate,
)
from edge.detection.vitals import VitalLimits, VitalsDetector

__all__ = [
    "AccelWindow",
    "CancelWindow",
    "ChildMonitorConfig",
    "CircleFence",
    "DetectionError",
    "DetectionEvent",
    "DeviceHealthMonitor",
    "EventKind",
    "Evidence",
    "FallDetector",
    "FallEvent",
    "FallModel",
    "FallScorer",
    "GeofenceMonitor",
    "GpsFix",
    "GpsPoint",
    "HealthConfig",
    "InactivityConfig",
    "InactivityDetector",
    "IncidentAction",
    "IncidentBuilder",
    "IncidentCandidate",
    "IncidentStatus",
    "IncidentUpdate",
    "InvalidInputError",
    "OutOfOrderError",
    "PeakThresholdDetector",
    "PolygonFence",
    "VitalLimits",
    "VitalPoint",
    "VitalsDetector",
    "WeeklySchedule",
    "load_default_model",
    "severity_of",
]
