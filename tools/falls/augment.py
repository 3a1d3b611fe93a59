"""Synthetic soft falls and sensor perturbations, made from recorded trials (offline only).

**Soft falls.** The public datasets hold young volunteers falling onto mats: nearly every
fall peaks above 2 g (SisFall: 3 of 1,350 below; FallAllD: none). Older adults slipping
from a chair or fainting while seated land softer and slower (unseen SisFall older
adults: 1.6–1.9 g). :func:`soften` turns a recorded fall into such a fall by keeping its
gravity direction (the 0.6 s moving average, so the posture change is unchanged) and
scaling the rest of the acceleration by ``scale`` in a window around the fall, tapered
over 0.5 s, then slowing the whole trial by ``stretch``. The low-impact path is fitted
on them and they are reported separately; they are a model of a soft fall, not a
measurement of one.

**Perturbations** (:data:`PERTURBATIONS`) reproduce what another device does to the
same movement: a random orientation, another rate (25 / 100 Hz), a ±10 % gain error per
axis, clipping at ±8 g, 1 % of samples dropped (held over, as the stream does with bad
rows), and time jitter (each sample taken up to ±20 % of a period late or early).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from tools.falls.dataset import Trial

GRAVITY_S = 0.6
TAPER_S = 0.5
MARGIN_S = 1.5
SCALE_RANGE = (0.2, 0.4)
STRETCH_RANGE = (1.0, 1.6)
SOFT_SUFFIX = "~soft"
Signal = NDArray[np.float64]


def moving_average(acc: Signal, n: int) -> Signal:
    """Centred moving average of each column over ``n`` samples (edges held)."""
    padded = np.pad(acc, ((n // 2, n - 1 - n // 2), (0, 0)), mode="edge")
    csum = np.vstack([np.zeros((1, acc.shape[1])), np.cumsum(padded, axis=0)])
    out: Signal = (csum[n:] - csum[:-n]) / n
    return out


def resample(acc: Signal, rate_hz: float, new_rate_hz: float, *, slower: float = 1.0) -> Signal:
    """Linear resampling to ``new_rate_hz``; ``slower`` > 1 also slows the movement down."""
    t = np.arange(len(acc)) / rate_hz
    n = int(len(acc) * slower * new_rate_hz / rate_hz)
    src = np.arange(n) / (new_rate_hz * slower)
    return np.column_stack([np.interp(src, t, acc[:, j]) for j in range(3)])


def fall_span(trial: Trial, acc: Signal) -> tuple[float, float]:
    """The labelled fall span, or (peak - 1 s, peak + 0.5 s) around the largest |a|."""
    if trial.onset_s is not None:
        return trial.onset_s, trial.end_s if trial.end_s is not None else trial.onset_s
    peak = float(np.argmax(np.linalg.norm(acc, axis=1))) / trial.rate_hz
    return peak - 1.0, peak + 0.5


def soften(acc: Signal, rate_hz: float, span: tuple[float, float], scale: float, stretch: float) -> Signal:
    """The fall within ``span`` (seconds) with its movement scaled by ``scale`` and the
    trial slowed by ``stretch`` (see the module docstring)."""
    gravity = moving_average(acc, max(1, round(GRAVITY_S * rate_hz)))
    t = np.arange(len(acc)) / rate_hz
    lo, hi = span[0] - MARGIN_S, span[1] + MARGIN_S
    inside = np.clip(np.minimum(t - (lo - TAPER_S), (hi + TAPER_S) - t) / TAPER_S, 0.0, 1.0)
    out = gravity + (acc - gravity) * (1.0 - (1.0 - scale) * inside)[:, None]
    return resample(out, rate_hz, rate_hz, slower=stretch) if stretch != 1.0 else out


def soft_falls(trials: list[Trial], arrays: list[Signal], seed: int = 0) -> tuple[list[Trial], list[Signal]]:
    """One soft version of every fall trial (same subject; scale and stretch drawn from
    :data:`SCALE_RANGE` / :data:`STRETCH_RANGE`); onsets scaled with the stretch."""
    rng = np.random.default_rng(seed)
    out_t: list[Trial] = []
    out_a: list[Signal] = []
    for trial, acc in zip(trials, arrays, strict=True):
        if not trial.is_fall:
            continue
        scale = float(rng.uniform(*SCALE_RANGE))
        stretch = float(rng.uniform(*STRETCH_RANGE))
        onset, end = fall_span(trial, acc)
        soft = soften(acc, trial.rate_hz, (onset, end), scale, stretch)
        labelled = trial.onset_s is not None
        out_t.append(
            dataclasses.replace(
                trial,
                trial_id=trial.trial_id + SOFT_SUFFIX,
                activity=trial.activity + SOFT_SUFFIX,
                onset_s=onset * stretch if labelled else None,
                end_s=end * stretch if labelled else None,
                duration_s=len(soft) / trial.rate_hz,
            )
        )
        out_a.append(soft)
    return out_t, out_a


def random_rotation(rng: np.random.Generator) -> Signal:
    """A uniformly random 3-D rotation matrix."""
    q = rng.normal(size=4)
    a, b, c, d = q / np.linalg.norm(q)
    return np.array(
        [
            [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), a * a - b * b + c * c - d * d, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), a * a - b * b - c * c + d * d],
        ]
    )


Perturb = Callable[[Signal, float, np.random.Generator], tuple[Signal, float]]


def _rotate(acc: Signal, rate: float, rng: np.random.Generator) -> tuple[Signal, float]:
    return acc @ random_rotation(rng).T, rate


def _gain(acc: Signal, rate: float, rng: np.random.Generator) -> tuple[Signal, float]:
    return acc * rng.uniform(0.9, 1.1, size=3), rate


def _clip8(acc: Signal, rate: float, rng: np.random.Generator) -> tuple[Signal, float]:
    return np.clip(acc, -8.0, 8.0), rate


def _drop(acc: Signal, rate: float, rng: np.random.Generator) -> tuple[Signal, float]:
    out = acc.copy()
    for i in np.flatnonzero(rng.random(len(acc)) < 0.01).tolist():
        out[i] = out[i - 1] if i else out[i]
    return out, rate


def _jitter(acc: Signal, rate: float, rng: np.random.Generator) -> tuple[Signal, float]:
    t = np.arange(len(acc)) / rate
    actual = t + rng.uniform(-0.2, 0.2, size=len(t)) / rate
    return np.column_stack([np.interp(actual, t, acc[:, j]) for j in range(3)]), rate


def _rate(new_rate: float) -> Perturb:
    def go(acc: Signal, rate: float, rng: np.random.Generator) -> tuple[Signal, float]:
        return resample(acc, rate, new_rate), new_rate

    return go


PERTURBATIONS: dict[str, Perturb] = {
    "random orientation": _rotate,
    "25 Hz": _rate(25.0),
    "100 Hz": _rate(100.0),
    "gain ±10 % per axis": _gain,
    "clipped at ±8 g": _clip8,
    "1 % samples dropped (held)": _drop,
    "time jitter ±20 % of a period": _jitter,
}
