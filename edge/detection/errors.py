"""Exceptions raised by the detection package (one base class, a few specific ones)."""

from __future__ import annotations


class DetectionError(Exception):
    """Base class for every error raised by :mod:`edge.detection`."""


class OutOfOrderError(DetectionError):
    """A sample or message is older than one the detector has already consumed.

    Detectors never silently rewind: the caller decides whether to drop the message or
    to build a fresh detector. The detector's state is unchanged when this is raised.
    """


class InvalidInputError(DetectionError):
    """The call itself is malformed (wrong array shape, non-positive sampling rate).

    Bad *values* (NaN, out-of-range readings, sensor-off codes) never raise; they are
    treated as missing data.
    """
