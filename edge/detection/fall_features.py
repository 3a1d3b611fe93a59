"""Features of one impact candidate, computed from a window of tri-axial acceleration.

Only the acceleration magnitude and the *change* of the gravity direction are used, so
the features do not assume which device axis is vertical or where the device is worn.
All window positions are in seconds relative to the impact peak (sample ``k``):

* ``log_peak_g``: log of the peak magnitude |a| at ``k``;
* ``freefall_min_g``: lowest |a| in the second before the peak (free fall dips below 1 g);
* ``orientation_change``: angle between the mean acceleration vector over
  [-2.5 s, -1.0 s] (pre-impact gravity) and over [+1.0 s, +2.0 s] (resting gravity),
  in units of 90 degrees;
* ``log_post_std_g``: log of the standard deviation of |a| over [+1.0 s, +2.0 s]
  (stillness after the impact), floored at sensor-noise level;
* ``log_impact_g_s``: log of the integral of ||a| - 1 g| over [-0.5 s, +0.5 s];
* ``impact_duration_s``: time |a| stays above 1.5 g within [-0.5 s, +0.5 s] (a fall's
  impact lasts; a bounce on a mattress or a sensor knock is one or two samples);
* ``log_impact_excess_g_s``: log of the integral of max(|a| - 1.3 g, 0) over
  [-0.5 s, +0.5 s] (impact energy above the level of brisk movement);
* ``freefall_s``: time |a| spends below 0.6 g in the second before the peak;
* ``log_pre_std_g``: log of the standard deviation of |a| over [-2.5 s, -1.0 s]
  (activity before the impact), floored at sensor-noise level;
* ``pre_impact_velocity_mps``: lowest value over [-1.5 s, 0] of the running integral
  of (|a| - b) * 9.81, with b the mean |a| over [-2.5 s, -1.5 s] (the sensor's own
  1 g, so a miscalibrated sensor does not drift). |a| - 1 g approximates the
  vertical component of the body's acceleration whatever the device orientation,
  so this is the downward velocity reached before the impact (Bourke et al. 2010
  use ~0.7 m/s), negative when falling;
* ``rotation_duration_s``: how long the device took to turn from 10 % to 90 % of
  ``orientation_change``, read on the direction of the 0.2 s moving-average acceleration
  over [-2.0 s, +1.0 s] (a falling body tips over gradually and then drops, so the turn
  starts well before the impact; lying down quickly on a bed or rolling over in it is one
  brisk turn);
* ``max_rotation_dps``: the fastest turn of that smoothed direction, in degrees per
  second, measured over 0.1 s steps within [-1.5 s, +0.2 s];
* ``rotation_at_impact``: the share of ``orientation_change`` already turned at the peak,
  read on the same smoothed direction (a falling body has mostly tipped over when it
  lands; lying down on a bed or turning in it is still turning when the mattress gives
  its bump). Not clipped: the impact can carry the direction past the final posture;
* ``second_peak_ratio``: the largest |a| within [-1 s, +1 s] but outside ±0.3 s of the
  peak, over the peak (a fall has one dominant impact; lying down on a bed, sitting down
  hard or rolling over gives several bumps of similar size);
* ``pre_periodicity``: the largest normalised autocorrelation of |a| over [-3.0 s, -0.3 s]
  at lags of 0.2–1.0 s (clapping, waving, beating a table or hand shaking repeat the same
  movement; a fall is not preceded by a rhythm of that period);
* ``post_direction_deg``: RMS angle between each sample's direction and their mean over
  [+1.0 s, +2.0 s] (a body lying after a fall keeps its orientation; a hand still moving
  does not — |a| alone can stay near 1 g while the arm turns);
* ``pre_peak_count``: peaks of |a| ≥ max(1.5 g, half the impact) within [-3.0 s, -0.3 s],
  at least 0.2 s apart (repeated impacts before this one).

The last three were appended on 2026-12-01 (night): a model may use a leading part of
:data:`FEATURE_NAMES` (``FallModel.feature_names``), so each placement takes the ones its
nested CV kept.

The model also scores how far each feature lies outside the range typical of falls
(``fall_model.FallModel`` hinge terms), so no single fall-like feature can outvote
several that are unlike any fall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FEATURE_NAMES: tuple[str, ...] = (
    "log_peak_g",
    "freefall_min_g",
    "orientation_change",
    "log_post_std_g",
    "log_impact_g_s",
    "impact_duration_s",
    "log_impact_excess_g_s",
    "freefall_s",
    "log_pre_std_g",
    "pre_impact_velocity_mps",
    "rotation_duration_s",
    "max_rotation_dps",
    "rotation_at_impact",
    "second_peak_ratio",
    "pre_periodicity",
    "post_direction_deg",
    "pre_peak_count",
)
ORIENTATION_FEATURE = FEATURE_NAMES.index("orientation_change")

PRE_START_S = 2.5
PRE_END_S = 1.0
POST_START_S = 1.0
POST_END_S = 2.0
PEAK_HALF_S = 0.5
FREEFALL_S = 1.0
VELOCITY_S = 1.5
NOISE_FLOOR_G = 0.01
IMPACT_LEVEL_G = 1.5
EXCESS_LEVEL_G = 1.3
FREEFALL_LEVEL_G = 0.6
EXCESS_FLOOR_G_S = 1e-3
STANDARD_GRAVITY = 9.81
SMOOTH_S = 0.2
ROTATION_FROM_S = 2.0
ROTATION_TO_S = 1.0
RATE_STEP_S = 0.1
RATE_FROM_S = 1.5
RATE_TO_S = 0.2
SECOND_PEAK_S = 1.0
SECOND_PEAK_GAP_S = 0.3
REPEAT_FROM_S = 3.0
REPEAT_TO_S = 0.3
REPEAT_GAP_S = 0.2
REPEAT_LEVEL_G = 1.5
REPEAT_SHARE = 0.5
LAG_MIN_S = 0.2
LAG_MAX_S = 1.0


@dataclass(frozen=True, slots=True)
class SampleWindows:
    """The feature windows converted to sample counts for one sampling rate."""

    pre_start: int
    pre_end: int
    post_start: int
    post_end: int
    peak_half: int
    freefall: int
    velocity: int
    smooth: int
    rotation_from: int
    rotation_to: int
    rate_step: int
    rate_from: int
    rate_to: int
    second_peak: int
    second_peak_gap: int
    repeat_from: int = 150
    repeat_to: int = 15
    repeat_gap: int = 10
    lag_min: int = 10
    lag_max: int = 50

    @classmethod
    def at_rate(cls, rate_hz: float) -> SampleWindows:
        """Window lengths in samples at ``rate_hz``."""

        def n(seconds: float) -> int:
            return max(1, round(seconds * rate_hz))

        return cls(
            pre_start=n(PRE_START_S),
            pre_end=n(PRE_END_S),
            post_start=n(POST_START_S),
            post_end=n(POST_END_S),
            peak_half=n(PEAK_HALF_S),
            freefall=n(FREEFALL_S),
            velocity=n(VELOCITY_S),
            smooth=n(SMOOTH_S),
            rotation_from=n(ROTATION_FROM_S),
            rotation_to=n(ROTATION_TO_S),
            rate_step=n(RATE_STEP_S),
            rate_from=n(RATE_FROM_S),
            rate_to=n(RATE_TO_S),
            second_peak=n(SECOND_PEAK_S),
            second_peak_gap=n(SECOND_PEAK_GAP_S),
            repeat_from=n(REPEAT_FROM_S),
            repeat_to=n(REPEAT_TO_S),
            repeat_gap=n(REPEAT_GAP_S),
            lag_min=n(LAG_MIN_S),
            lag_max=n(LAG_MAX_S),
        )


def angle_deg(u: NDArray[np.float64], v: NDArray[np.float64]) -> float:
    """Angle between two vectors in degrees (0 when either is zero)."""
    nu = float(np.linalg.norm(u))
    nv = float(np.linalg.norm(v))
    if nu < 1e-9 or nv < 1e-9:
        return 0.0
    cos = float(np.dot(u, v)) / (nu * nv)
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))


def impact_features(
    acc: NDArray[np.float64],
    mag: NDArray[np.float64],
    k: int,
    rate_hz: float,
    win: SampleWindows,
) -> NDArray[np.float64]:
    """Feature vector (ordered as :data:`FEATURE_NAMES`) for a peak at index ``k``.

    ``acc`` is (n, 3) in g, ``mag`` its row norms; samples up to ``k + win.post_end``
    must be present. Missing history before index 0 is simply not used.
    """
    pre_lo = max(0, k - win.pre_start)
    pre = acc[pre_lo : max(1, k - win.pre_end)]
    pre_gravity = pre.mean(axis=0)
    post_gravity = acc[k + win.post_start : k + win.post_end].mean(axis=0)
    rotation_s, rotation_dps, at_impact = rotation_features(
        acc, k, rate_hz, win, pre_gravity=pre_gravity, post_gravity=post_gravity
    )
    post_mag = mag[k + win.post_start : k + win.post_end]
    around = mag[max(0, k - win.peak_half) : k + win.peak_half + 1]
    before = mag[max(0, k - win.freefall) : k + 1]
    freefall = float(before.min())
    change = angle_deg(pre_gravity, post_gravity) / 90.0
    post_std = max(float(post_mag.std()), NOISE_FLOOR_G)
    impact = max(float(np.abs(around - 1.0).sum()) / rate_hz, NOISE_FLOOR_G)
    impact_s = time_above(around, IMPACT_LEVEL_G) / rate_hz
    excess = max(float(np.clip(around - EXCESS_LEVEL_G, 0.0, None).sum()) / rate_hz, EXCESS_FLOOR_G_S)
    freefall_s = float(np.count_nonzero(before < FREEFALL_LEVEL_G)) / rate_hz
    pre_std = max(float(mag[pre_lo : max(1, k - win.pre_end)].std()), NOISE_FLOOR_G)
    return np.array(
        [
            math.log(float(mag[k])),
            freefall,
            change,
            math.log(post_std),
            math.log(impact),
            impact_s,
            math.log(excess),
            freefall_s,
            math.log(pre_std),
            pre_impact_velocity(mag, k, rate_hz, win),
            rotation_s,
            rotation_dps,
            at_impact,
            second_peak_ratio(mag, k, win),
            pre_periodicity(mag, k, win),
            post_direction_deg(acc, k, win),
            float(pre_peak_count(mag, k, win)),
        ],
        dtype=np.float64,
    )


def orientation_change(acc: NDArray[np.float64], k: int, win: SampleWindows) -> float:
    """``orientation_change`` alone (cheap: two means), to skip soft peaks that did not
    change the posture before computing the other features."""
    pre = acc[max(0, k - win.pre_start) : max(1, k - win.pre_end)].mean(axis=0)
    post = acc[k + win.post_start : k + win.post_end].mean(axis=0)
    return angle_deg(pre, post) / 90.0


def time_above(values: NDArray[np.float64], level: float) -> float:
    """Samples' worth of time ``values`` spends above ``level``, reading the signal as
    linear between samples (so a one-sample spike counts the part of its two flanks
    above the level, and the figure does not jump with the sampling rate)."""
    a = values[:-1] - level
    b = values[1:] - level
    both = (a > 0) & (b > 0)
    up = (a > 0) != (b > 0)
    hi = np.where(a > 0, a, b)[up]
    frac = hi / (np.abs(a[up]) + np.abs(b[up]))
    return float(np.count_nonzero(both)) + float(frac.sum())


def second_peak_ratio(mag: NDArray[np.float64], k: int, win: SampleWindows) -> float:
    """Largest |a| within ``win.second_peak`` samples of the peak ``k`` but farther than
    ``win.second_peak_gap`` from it, over |a| at ``k`` (0 when there is no such sample)."""
    before = mag[max(0, k - win.second_peak) : max(0, k - win.second_peak_gap)]
    after = mag[k + win.second_peak_gap + 1 : k + win.second_peak + 1]
    other = max(float(before.max()) if len(before) else 0.0, float(after.max()) if len(after) else 0.0)
    return other / float(mag[k])


def pre_peak_count(mag: NDArray[np.float64], k: int, win: SampleWindows) -> int:
    """Peaks of |a| at or above max(:data:`REPEAT_LEVEL_G`, :data:`REPEAT_SHARE` × the
    peak at ``k``) within [-``win.repeat_from``, -``win.repeat_to``] samples of ``k``,
    at least ``win.repeat_gap`` apart (clapping, waving or beating a table repeats the
    impact; a fall has one)."""
    lo = max(1, k - win.repeat_from)
    hi = k - win.repeat_to
    if hi - lo < 2:
        return 0
    seg = mag[lo - 1 : hi + 1]
    level = max(REPEAT_LEVEL_G, REPEAT_SHARE * float(mag[k]))
    mid = seg[1:-1]
    idx = np.flatnonzero((mid >= level) & (mid >= seg[:-2]) & (mid > seg[2:]))
    count = 0
    last = -win.repeat_gap
    for i in idx.tolist():
        if i - last >= win.repeat_gap:
            count += 1
            last = i
    return count


def pre_periodicity(mag: NDArray[np.float64], k: int, win: SampleWindows) -> float:
    """Largest normalised autocorrelation of |a| over [-``win.repeat_from``,
    -``win.repeat_to``] samples of ``k`` at lags ``win.lag_min`` to ``win.lag_max``
    (a repeated hand movement is periodic; 0 when the window is too short or flat)."""
    seg = mag[max(0, k - win.repeat_from) : max(0, k - win.repeat_to)]
    if len(seg) < 2 * win.lag_max:
        return 0.0
    x = seg - seg.mean()
    energy = float(np.dot(x, x))
    if energy < len(x) * NOISE_FLOOR_G**2:
        return 0.0
    lags = np.correlate(x, x, mode="full")[len(x) - 1 + win.lag_min : len(x) + win.lag_max]
    return max(0.0, float(lags.max()) / energy)


def post_direction_deg(acc: NDArray[np.float64], k: int, win: SampleWindows) -> float:
    """RMS angle in degrees between each sample's direction and their mean direction over
    [+``win.post_start``, +``win.post_end``) samples after ``k``: a body lying after a
    fall keeps its orientation; an arm still clapping or waving does not."""
    seg = acc[k + win.post_start : k + win.post_end]
    unit = seg / (np.linalg.norm(seg, axis=1, keepdims=True) + 1e-12)
    mean = unit.mean(axis=0)
    mean = mean / (float(np.linalg.norm(mean)) + 1e-12)
    ang = np.arccos(np.clip(unit @ mean, -1.0, 1.0))
    return float(math.degrees(math.sqrt(float(np.mean(ang * ang)))))


def pre_impact_velocity(mag: NDArray[np.float64], k: int, rate_hz: float, win: SampleWindows) -> float:
    """Lowest running integral of (|a| - b)·g over the ``win.velocity`` samples up to
    the peak ``k``, in m/s; b is the mean |a| from ``win.pre_start`` to
    ``win.velocity`` before the peak (1 g when that history is missing)."""
    ref = mag[max(0, k - win.pre_start) : max(0, k - win.velocity)]
    base = float(ref.mean()) if len(ref) else 1.0
    seg = mag[max(0, k - win.velocity) : k + 1]
    velocity = np.cumsum(seg - base) * (STANDARD_GRAVITY / rate_hz)
    return float(velocity.min())


def rotation_features(
    acc: NDArray[np.float64],
    k: int,
    rate_hz: float,
    win: SampleWindows,
    *,
    pre_gravity: NDArray[np.float64],
    post_gravity: NDArray[np.float64],
) -> tuple[float, float, float]:
    """``rotation_duration_s``, ``max_rotation_dps`` and ``rotation_at_impact`` for the
    peak at ``k`` (see the module docstring); ``acc`` must hold ``win.rotation_to + win.smooth`` samples
    after ``k``. Missing history before index 0 shortens the windows."""
    half = win.smooth // 2
    lo = max(0, k - win.rotation_from - half)
    hi = k + win.rotation_to + win.smooth
    seg = acc[lo:hi]
    csum = np.vstack([np.zeros((1, 3)), np.cumsum(seg, axis=0)])
    smooth = (csum[win.smooth :] - csum[: -win.smooth]) / win.smooth  # smooth[i] centred near lo+i+half
    unit = smooth / (np.linalg.norm(smooth, axis=1, keepdims=True) + 1e-12)
    origin = lo + half  # absolute index of unit[0]
    start = max(0, k - win.rotation_from - origin)
    stop = min(len(unit), k + win.rotation_to - origin)
    total = angle_deg(pre_gravity, post_gravity)
    g0 = pre_gravity / (float(np.linalg.norm(pre_gravity)) + 1e-12)
    turned = np.degrees(np.arccos(np.clip(unit[start:stop] @ g0, -1.0, 1.0))) / max(total, 1e-3)
    first = start + origin - k  # offset of turned[0] from the peak, in samples

    def reached(level: float) -> float:
        idx = np.flatnonzero(turned >= level)
        return (first + int(idx[0])) / rate_hz if len(idx) else win.rotation_to / rate_hz

    duration = reached(0.9) - reached(0.1)
    at_impact = float(turned[min(max(0, k - origin - start), len(turned) - 1)]) if len(turned) else 0.0
    step = win.rate_step
    a = max(0, k - win.rate_from - origin)
    b = min(len(unit) - step, k + win.rate_to - origin)
    if b <= a:
        return duration, 0.0, at_impact
    cos = np.einsum("ij,ij->i", unit[a:b], unit[a + step : b + step])
    fastest = float(np.degrees(np.arccos(min(1.0, max(-1.0, float(cos.min()))))))
    return duration, fastest * rate_hz / step, at_impact


def is_impact_peak(mag: NDArray[np.float64], k: int, half: int) -> bool:
    """True when ``mag[k]`` is the first maximum of ``mag[k-half : k+half+1]``."""
    lo = max(0, k - half)
    value = mag[k]
    if value < mag[lo : k + half + 1].max():
        return False
    return not (k > lo and value <= mag[lo:k].max())
