"""Reader for fall datasets in the shared layout (``manifest.csv`` + ``trials/*.csv.gz``
with columns ``t_s, ax_g, ay_g, az_g``). Used by the fitting script and the benchmark,
never by the detector itself."""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True, kw_only=True)
class Trial:
    """One recording. ``onset_s``/``end_s`` are the labelled fall span (``None`` when
    the dataset has no label for this trial, or for activities)."""

    trial_id: str
    subject: str
    activity: str
    is_fall: bool
    onset_s: float | None
    end_s: float | None
    duration_s: float
    rate_hz: float
    path: Path


def _optional_float(text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def read_manifest(data_dir: Path) -> list[Trial]:
    """All trials listed in ``data_dir/manifest.csv``."""
    trials: list[Trial] = []
    with (data_dir / "manifest.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            onset = _optional_float(row.get("fall_onset_s"))
            end = _optional_float(row.get("fall_end_s"))
            trials.append(
                Trial(
                    trial_id=row["trial_id"],
                    subject=row["subject"],
                    activity=row.get("activity", ""),
                    is_fall=row["is_fall"].strip() in {"1", "true", "True"},
                    onset_s=onset,
                    end_s=end if end is not None else onset,
                    duration_s=_optional_float(row.get("duration_s")) or 0.0,
                    rate_hz=_optional_float(row.get("rate_hz")) or 50.0,
                    path=data_dir / row["file"],
                )
            )
    return trials


def load_trial(trial: Trial) -> NDArray[np.float64]:
    """The trial's acceleration as an (n, 3) array in g."""
    opener = gzip.open if trial.path.suffix == ".gz" else open
    with opener(trial.path, "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    return np.ascontiguousarray(table[:, 1:4])
