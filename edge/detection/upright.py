"""The wearer's "upright" gravity direction, learned online from their own walking.

A fall detector that knows which way is up for *this* device on *this* wearer can tell
lying from standing; one that does not must rely on orientation *changes* only. Nothing
here assumes which sensor axis is vertical: the direction is learned from the device's
own past samples, in blocks of :data:`BLOCK_S` seconds aligned to the stream's sample
index (so the estimate does not depend on how samples were batched).

A block counts as **gait** when all of these hold:

* mean |a| within [0.9, 1.2] g and std |a| within [0.08, 0.6] g (walking, not
  stillness and not running or a knock);
* the normalised autocorrelation of |a| peaks at ≥ 0.4 for a step period of
  1/2.4–1/1.4 s (cadence 1.4–2.4 steps/s);
* the device barely turned: the mean acceleration of each half of the block is within
  15° of the other, and the block's mean vector is ≥ 0.85 of its mean |a|;
* the device does not sway: the mean acceleration of every 0.5 s (about one step) is
  within 20° of the block's. A waist or trunk sensor sways 6° (median, 99th percentile
  14° on SisFall's walking); a wrist swinging with the arm should not pass, so a
  placement whose "walking direction" says nothing about the trunk learns no upright
  (not verified on wrist data).

Walking people hold their trunk upright, so the unit mean acceleration of a gait block
is the device's "upright" direction. Blocks are combined as an exponentially weighted
vector mean (half-life :data:`HALF_LIFE_BLOCKS` blocks). The estimate is **confident**
when the weight reaches :data:`MIN_WEIGHT` (about 40 s of walking) and the blocks agree
(resultant length ≥ :data:`MIN_AGREEMENT`, a spread of roughly 15°). If the device is
later worn another way, the next walks disagree with the old estimate and confidence
drops until the new direction dominates. A data gap of :data:`FORGET_GAP_S` or more
(device off the body or charging, perhaps worn differently afterwards) forgets it.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

BLOCK_S = 4.0
MEAN_G = (0.9, 1.2)
STD_G = (0.08, 0.6)
CADENCE_HZ = (1.4, 2.4)
MIN_AUTOCORR = 0.4
MAX_TURN_DEG = 15.0
SWAY_S = 0.5
MAX_SWAY_DEG = 20.0
MIN_STEADINESS = 0.85
HALF_LIFE_BLOCKS = 30.0
MIN_WEIGHT = 10.0
MIN_AGREEMENT = 0.97
FORGET_GAP_S = 600.0
_COS_MAX_TURN = math.cos(math.radians(MAX_TURN_DEG))
_COS_MAX_SWAY = math.cos(math.radians(MAX_SWAY_DEG))


def is_gait_block(acc: NDArray[np.float64], mag: NDArray[np.float64], rate_hz: float) -> bool:
    """True when one block of samples looks like upright walking (rules above)."""
    mean = float(mag.mean())
    std = float(mag.std())
    if not (MEAN_G[0] <= mean <= MEAN_G[1] and STD_G[0] <= std <= STD_G[1]):
        return False
    g = acc.mean(axis=0)
    if float(np.linalg.norm(g)) < MIN_STEADINESS * mean:
        return False
    half = len(acc) // 2
    a = acc[:half].mean(axis=0)
    b = acc[half:].mean(axis=0)
    if float(np.dot(a, b)) < _COS_MAX_TURN * float(np.linalg.norm(a) * np.linalg.norm(b)):
        return False
    n_sub = max(1, round(SWAY_S * rate_hz))
    m = len(acc) // n_sub
    subs = acc[: m * n_sub].reshape(m, n_sub, 3).mean(axis=1)
    cos = subs @ g / (np.linalg.norm(subs, axis=1) * float(np.linalg.norm(g)) + 1e-12)
    if float(cos.min()) < _COS_MAX_SWAY:
        return False
    x = mag - mean
    energy = float(np.dot(x, x))
    lo = max(1, math.floor(rate_hz / CADENCE_HZ[1]))
    hi = min(len(x) - 1, math.ceil(rate_hz / CADENCE_HZ[0]))
    best = max(float(np.dot(x[:-lag], x[lag:])) for lag in range(lo, hi + 1))
    return best >= MIN_AUTOCORR * energy * (len(x) - hi) / len(x)


class UprightEstimator:
    """Exponentially weighted mean gravity direction over the wearer's gait blocks.

    Feed it with :meth:`learn` (whole blocks, in stream order); :attr:`upright` is the
    unit vector when confident, else ``None``."""

    def __init__(self) -> None:
        self._sum = np.zeros(3)
        self._weight = 0.0
        self._decay = 0.5 ** (1.0 / HALF_LIFE_BLOCKS)
        self.gait_blocks = 0

    def learn(self, acc: NDArray[np.float64], mag: NDArray[np.float64], rate_hz: float) -> bool:
        """Consume one block; return True when it was taken as gait."""
        if not is_gait_block(acc, mag, rate_hz):
            return False
        g = acc.mean(axis=0)
        self._sum = self._decay * self._sum + g / float(np.linalg.norm(g))
        self._weight = self._decay * self._weight + 1.0
        self.gait_blocks += 1
        return True

    def forget(self) -> None:
        """Drop everything learned (e.g. after a long data gap)."""
        self._sum = np.zeros(3)
        self._weight = 0.0

    @property
    def agreement(self) -> float:
        """Resultant length of the weighted unit vectors (1 = all gait blocks agree)."""
        return float(np.linalg.norm(self._sum)) / self._weight if self._weight > 0 else 0.0

    @property
    def confident(self) -> bool:
        return self._weight >= MIN_WEIGHT and self.agreement >= MIN_AGREEMENT

    @property
    def upright(self) -> NDArray[np.float64] | None:
        """Unit "upright" acceleration direction (what the sensor reads standing), or
        ``None`` while not confident."""
        if not self.confident:
            return None
        out: NDArray[np.float64] = self._sum / float(np.linalg.norm(self._sum))
        return out


def tilt_deg(vector: NDArray[np.float64], upright: NDArray[np.float64]) -> float:
    """Angle between a mean acceleration vector and the upright direction (0 = upright,
    90 = lying); 0 for a zero vector."""
    n = float(np.linalg.norm(vector))
    if n < 1e-9:
        return 0.0
    return math.degrees(math.acos(min(1.0, max(-1.0, float(np.dot(vector, upright)) / n))))


LYING_DEG = 85.0
ROSE_FROM_DEG = 60.0
UPRIGHT_END_DEG = 30.0
DROP_FREEFALL_S = 0.2
DROP_VELOCITY_MPS = -1.5
BOUNCE_S = 0.08
BOUNCE_EXCESS_G_S = 0.12


def posture_veto(
    pre_tilt: float,
    post_tilt: float,
    freefall_s: float,
    velocity_mps: float,
    *,
    impact_s: float = 0.0,
    impact_excess_g_s: float = 0.0,
) -> str:
    """Why an impact cannot be a fall given the absolute posture ('' = no veto).

    ``already_lying``: the trunk was within 5° of horizontal (or beyond) before the
    impact, nothing dropped (free fall < 0.2 s and pre-impact velocity above -1.5 m/s)
    and the impact was a mattress bounce (above 1.5 g for < 0.08 s *and* under
    0.12 g·s above 1.3 g): turning over in bed. A fall *out of* a bed lands on the
    floor: FallAllD's 20 such falls (A127/A128) that reached this rule had little free
    fall (0–0.18 s) but impacts of 0.08–0.34 s and 0.10–0.44 g·s, SisFall's rolls in bed
    (D14) 0.04–0.06 s and 0.05–0.10 g·s — so they are not vetoed.
    ``rose_from_lying``: tilted ≥ 60° before and ≤ 30° from upright after: sitting or
    getting up. One cannot fall upwards.
    """
    bounce = impact_s < BOUNCE_S and impact_excess_g_s < BOUNCE_EXCESS_G_S
    if pre_tilt >= LYING_DEG and freefall_s < DROP_FREEFALL_S and velocity_mps > DROP_VELOCITY_MPS and bounce:
        return "already_lying"
    if pre_tilt >= ROSE_FROM_DEG and post_tilt <= UPRIGHT_END_DEG:
        return "rose_from_lying"
    return ""
