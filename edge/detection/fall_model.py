"""The fitted logistic model that turns impact features into a fall probability.

The shipped parameters live in ``fall_model.json`` next to this module and are produced
by ``python -m tools.falls.fit`` (subject-wise folds; see docs/detection.md).
"""

from __future__ import annotations

import functools
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
    probability at which the detector alarms.

    With ``hinge_low``/``hinge_high`` (one knot per feature, fitted as quantiles of the
    training falls) the regression is additive rather than linear: besides each feature
    ``x`` it weighs ``max(0, low - x)`` and ``max(0, x - high)``, how far ``x`` lies
    outside the range typical of falls, so ``mean``, ``scale`` and ``coef`` have three
    entries per feature. Without knots (older model files) it is the plain linear model.
    Standardised terms are clipped to ±5 so that a sensor unlike the training one cannot
    push the score to an extreme.

    ``feature_names`` may be a leading part of :data:`FEATURE_NAMES`: a model file written
    before features were appended (the 12-feature layout before 2026-12-01) still loads
    and scores on the features it knows.

    ``low_impact`` (optional) is the second path: a model of the same additive form over
    the same features, with its own coefficients, gate and threshold, that scores peaks
    from its own ``trigger_g`` up to this model's ``trigger_g`` (soft falls: slipping
    from a chair, fainting while seated). ``placement`` names where the device the model
    was fitted for is worn (``waist``, ``pendant``, ``wrist``).
    """

    feature_names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    trigger_g: float
    min_orientation_change: float = 0.0
    hinge_low: tuple[float, ...] = ()
    hinge_high: tuple[float, ...] = ()
    low_impact: FallModel | None = None
    placement: str = "waist"
    provenance: str = ""

    def __post_init__(self) -> None:
        n = len(self.feature_names)
        if n <= ORIENTATION_FEATURE or self.feature_names != FEATURE_NAMES[:n]:
            raise DetectionError(f"model features {self.feature_names} are not a prefix of {FEATURE_NAMES}")
        if len(self.hinge_low) != len(self.hinge_high) or len(self.hinge_low) not in (0, n):
            raise DetectionError("hinge knots must be given for every feature or for none")
        terms = 3 * n if self.hinge_low else n
        if not len(self.mean) == len(self.scale) == len(self.coef) == terms:
            raise DetectionError("model parameter lengths do not match the features")
        low = self.low_impact
        if low is not None and (low.low_impact is not None or not low.trigger_g < self.trigger_g):
            raise DetectionError("the low-impact path needs a lower trigger and no path of its own")

    @property
    def scan_g(self) -> float:
        """The lowest |a| any path scores: where the detector starts looking at peaks."""
        return self.low_impact.trigger_g if self.low_impact is not None else self.trigger_g

    def path_for(self, peak_g: float) -> FallModel:
        """The model that scores a peak of ``peak_g`` (this one, or the low-impact path)."""
        if peak_g < self.trigger_g and self.low_impact is not None:
            return self.low_impact
        return self

    def terms(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """The regression's inputs for feature rows (``(n,)`` or ``(m, n)``): the
        features, then with knots their distances below ``hinge_low`` and above
        ``hinge_high``."""
        return expand_hinges(features, self.hinge_low, self.hinge_high)

    def probability(self, features: NDArray[np.float64]) -> float:
        """Fall probability for one feature vector (0 below the posture-change gate;
        NaN features give 0)."""
        if not features[ORIENTATION_FEATURE] >= self.min_orientation_change:
            return 0.0
        features = features[: len(self.feature_names)]
        z = (self.terms(features) - np.asarray(self.mean)) / np.asarray(self.scale)
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
            hinge_low=tuple(float(x) for x in raw.get("hinge_low", ())),
            hinge_high=tuple(float(x) for x in raw.get("hinge_high", ())),
            low_impact=cls.from_dict(raw["low_impact"]) if raw.get("low_impact") else None,
            placement=str(raw.get("placement", "waist")),
            provenance=str(raw.get("provenance", "")),
        )


def expand_hinges(
    features: NDArray[np.float64], low: tuple[float, ...], high: tuple[float, ...]
) -> NDArray[np.float64]:
    """``features`` followed by ``max(0, low - x)`` and ``max(0, x - high)`` along the
    last axis (unchanged when no knots are given)."""
    if not low:
        return features
    lo = np.asarray(low)
    hi = np.asarray(high)
    return np.concatenate([features, np.maximum(0.0, lo - features), np.maximum(0.0, features - hi)], axis=-1)


PLACEMENTS: tuple[str, ...] = ("waist", "pendant", "wrist")
MODEL_FILES: dict[str, str] = {
    "waist": MODEL_FILE,
    "pendant": "fall_model_pendant.json",
    "wrist": "fall_model_wrist.json",
}


@functools.lru_cache(maxsize=8)
def load_default_model(placement: str = "waist") -> FallModel:
    """The shipped model for a placement (``waist`` = ``edge/detection/fall_model.json``;
    an unknown placement gets the waist model)."""
    name = MODEL_FILES.get(placement, MODEL_FILE)
    text = resources.files("edge.detection").joinpath(name).read_text(encoding="utf-8")
    return FallModel.from_dict(json.loads(text))
