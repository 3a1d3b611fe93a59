"""The fitted logistic model that turns impact features into a fall probability.

The shipped parameters live in ``fall_model.json`` next to this module and are produced
by ``python -m edge.detection.fit_falls`` (subject-wise folds; see docs/detection.md).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edge.detection.errors import DetectionError
from edge.detection.fall_features import FEATURE_NAMES, ORIENTATION_FEATURE

MODEL_FILE = "fall_model.json"
Z_CLIP = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class FallModel:
    """Standardised logistic regression over :data:`FEATURE_NAMES`, behind a gate.

    ``trigger_g`` is the |a| a peak must reach to be scored at all;
    ``min_orientation_change`` (in units of 90°) the posture change it must be followed
    by — impacts below it score 0 and are left out of the fit, so the regression only
    has to tell falls from other impacts that end in a new posture (lying down on a
    bed, rolling over) instead of also from jogging and jumps, whose hard impacts
    would otherwise teach it that a soft impact is fall-like. ``threshold`` is the
    probability at which the detector alarms. Standardised features are clipped to
    ±5 so that a sensor unlike the training one cannot push the score to an extreme.
    """

    feature_names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    trigger_g: float
    min_orientation_change: float = 0.0
    provenance: str = ""

    def __post_init__(self) -> None:
        if self.feature_names != FEATURE_NAMES:
            raise DetectionError(f"model features {self.feature_names} != {FEATURE_NAMES}")
        n = len(FEATURE_NAMES)
        if not len(self.mean) == len(self.scale) == len(self.coef) == n:
            raise DetectionError("model parameter lengths do not match the features")

    def probability(self, features: NDArray[np.float64]) -> float:
        """Fall probability for one feature vector (0 below the posture-change gate;
        NaN features give 0)."""
        if not features[ORIENTATION_FEATURE] >= self.min_orientation_change:
            return 0.0
        z = (features - np.asarray(self.mean)) / np.asarray(self.scale)
        if not np.all(np.isfinite(z)):
            return 0.0
        z = np.clip(z, -Z_CLIP, Z_CLIP)
        logit = self.intercept + float(np.dot(z, np.asarray(self.coef)))
        return 1.0 / (1.0 + math.exp(-logit))

    def to_json(self) -> str:
        """Serialise to the JSON layout of ``fall_model.json``."""
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FallModel:
        """Build from a parsed JSON object."""
        return cls(
            feature_names=tuple(raw["feature_names"]),
            mean=tuple(float(x) for x in raw["mean"]),
            scale=tuple(float(x) for x in raw["scale"]),
            coef=tuple(float(x) for x in raw["coef"]),
            intercept=float(raw["intercept"]),
            threshold=float(raw["threshold"]),
            trigger_g=float(raw["trigger_g"]),
            min_orientation_change=float(raw.get("min_orientation_change", 0.0)),
            provenance=str(raw.get("provenance", "")),
        )


def load_default_model() -> FallModel:
    """The shipped model from ``edge/detection/fall_model.json``."""
    text = resources.files("edge.detection").joinpath(MODEL_FILE).read_text(encoding="utf-8")
    return FallModel.from_dict(json.loads(text))
