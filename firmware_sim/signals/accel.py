"""Tri-axial waist acceleration in g, shaped on published 50 Hz waist recordings (SisFall).

Sensor frame as in those recordings: ``y`` is vertical (≈ -1 g when upright), ``z`` antero-posterior,
``x`` medio-lateral. Figures studied (not copied) from the recordings:

* walking: magnitude std ≈ 0.2 g, step frequency 1.7-1.9 Hz (slow walk), 2.0-2.3 Hz (brisk);
* stairs: step frequency ≈ 1.2 Hz, a little more vertical energy;
* falls: a free-fall dip to ≈ 0.3 g (0.1-0.5) for 0.2-0.4 s, an impact peak of 3.5-11 g (median ≈ 6 g),
  0.1-1.2 s above 1.5 g, then stillness (magnitude std ≈ 0.01 g) with gravity on another axis (lying).
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum

import numpy as np

RATE_HZ = 50
UPRIGHT = np.array([0.0, -1.0, 0.0])
SITTING = np.array([0.05, -0.94, 0.33])
LYING_AXES = (
    np.array([0.0, 0.0, -1.0]),  # on the back
    np.array([0.0, 0.0, 1.0]),  # on the front
    np.array([1.0, 0.0, 0.0]),  # on a side
    np.array([-1.0, 0.0, 0.0]),
)
DESK = np.array([0.02, 0.01, -1.0])  # taken off, lying on a table


class Activity(StrEnum):
    SLEEP = "sleep"
    SIT = "sit"
    WALK = "walk"
    CHORES = "chores"
    STAIRS = "stairs"
    LYING = "lying"  # on the floor after a fall
    REMOVED = "removed"  # not worn


MOVING = frozenset({Activity.WALK, Activity.CHORES, Activity.STAIRS})


class AccelSynth:
    """Streaming generator: ``batch(activity, n)`` returns ``n`` samples continuing the previous batch."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self.cadence_hz = float(rng.normal(1.8, 0.08))
        self._phase = 0.0
        self._lying = LYING_AXES[int(rng.integers(len(LYING_AXES)))]
        self._sleep_axis = LYING_AXES[int(rng.integers(len(LYING_AXES)))]
        self._pending: deque[np.ndarray] = deque()  # a transient (fall) to play before the activity

    @property
    def lying_axis(self) -> np.ndarray:
        return self._lying

    def batch(self, activity: Activity, n: int = RATE_HZ) -> np.ndarray:
        out = np.empty((n, 3))
        filled = 0
        while self._pending and filled < n:
            chunk = self._pending[0]
            take = min(n - filled, len(chunk))
            out[filled : filled + take] = chunk[:take]
            filled += take
            if take == len(chunk):
                self._pending.popleft()
            else:
                self._pending[0] = chunk[take:]
        if filled < n:
            out[filled:] = self._activity(activity, n - filled)
        return np.clip(out, -16.0, 16.0)

    def _activity(self, activity: Activity, n: int) -> np.ndarray:
        rng = self._rng
        if activity in (Activity.WALK, Activity.STAIRS):
            cadence = self.cadence_hz * (0.68 if activity is Activity.STAIRS else 1.0)
            vertical = 0.24 if activity is Activity.WALK else 0.3
            t = (np.arange(n) / RATE_HZ) * 2 * np.pi * cadence + self._phase
            self._phase = float(t[-1] + 2 * np.pi * cadence / RATE_HZ) % (2 * np.pi)
            base = np.tile(UPRIGHT, (n, 1))
            base[:, 1] -= vertical * np.sin(t) + 0.08 * np.sin(2 * t + 0.6)
            base[:, 2] += 0.16 * np.sin(t + 1.1)
            base[:, 0] += 0.07 * np.sin(t / 2)
            return base + rng.normal(0.0, 0.035, (n, 3))
        if activity is Activity.CHORES:
            # bending, reaching, shuffling: slow tilts plus bursts of motion
            drift = np.cumsum(rng.normal(0.0, 0.02, (n, 3)), axis=0)
            bursts = rng.normal(0.0, 0.12, (n, 3)) * (rng.random((n, 1)) < 0.3)
            return UPRIGHT + 0.3 * np.tanh(drift) + bursts + rng.normal(0.0, 0.02, (n, 3))
        if activity is Activity.SIT:
            return SITTING + rng.normal(0.0, 0.012, (n, 3))
        if activity is Activity.SLEEP:
            return self._sleep_axis + rng.normal(0.0, 0.006, (n, 3))
        if activity is Activity.LYING:
            return self._lying + rng.normal(0.0, 0.008, (n, 3))
        return DESK + rng.normal(0.0, 0.003, (n, 3))  # REMOVED

    def queue_fall(self, peak_g: float, *, get_up_after_s: float | None = None) -> None:
        """Queue a fall: pre-fall walk, free fall, impact of ``peak_g``, ring-down, then lying still.

        With ``get_up_after_s`` the person gets up (a 2 s rise back to upright) after that long lying.
        """
        rng = self._rng
        pre = self._activity(Activity.WALK, int(RATE_HZ * 0.4))
        n_free = int(rng.integers(10, 20))  # 0.2-0.4 s
        depth = float(rng.uniform(0.15, 0.5))
        ramp = np.linspace(1.0, depth, n_free)[:, None]
        free = UPRIGHT * ramp + rng.normal(0.0, 0.05, (n_free, 3))
        # impact: a sharp spike on mostly the vertical and antero-posterior axes, then damped ringing
        direction = np.array([rng.normal(0, 0.3), -1.0, rng.normal(0, 0.6)])
        direction /= np.linalg.norm(direction)
        n_ring = int(rng.integers(20, 40))
        k = np.arange(n_ring)
        envelope = np.exp(-k / float(rng.uniform(3.0, 6.0)))
        ringing = (peak_g * envelope * np.cos(k * float(rng.uniform(0.8, 1.4))))[:, None] * direction
        blend = np.clip(k / (n_ring - 1), 0, 1)[:, None]
        ringing += (1 - blend) * UPRIGHT + blend * self._lying
        ringing += rng.normal(0.0, 0.04, ringing.shape) * (1 - blend)
        ringing[0] = direction * peak_g  # the peak sample itself is exactly peak_g
        self._pending.extend([pre, free, ringing])
        if get_up_after_s is not None:
            n_still = int(get_up_after_s * RATE_HZ)
            self._pending.append(self._lying + rng.normal(0.0, 0.008, (n_still, 3)))
            n_rise = 2 * RATE_HZ
            w = np.linspace(0, 1, n_rise)[:, None]
            self._pending.append((1 - w) * self._lying + w * UPRIGHT + rng.normal(0, 0.08, (n_rise, 3)))

    def queue_bump(self) -> None:
        """A hard sit-down or a bumped table: 1.8-2.8 g for a sample or two, not a fall."""
        rng = self._rng
        spike = UPRIGHT * float(rng.uniform(1.8, 2.8))
        settle = np.linspace(1, 0, 10)[:, None] * (spike - SITTING) + SITTING
        self._pending.extend([spike[None, :], settle])


def magnitude(samples: np.ndarray) -> np.ndarray:
    return np.asarray(np.linalg.norm(samples, axis=1))
