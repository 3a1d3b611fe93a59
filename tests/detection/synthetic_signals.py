"""Synthetic acceleration signals for the detector tests (no recorded data needed)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

RATE = 50.0
UP = np.array([0.0, -1.0, 0.0])  # gravity on -y while upright (like a waist-worn device)
LYING = np.array([1.0, 0.0, 0.0])  # gravity on +x after the fall


def still(
    seconds: float, gravity: NDArray[np.float64], rng: np.random.Generator, rate: float = RATE
) -> NDArray[np.float64]:
    n = round(seconds * rate)
    return gravity + rng.normal(0.0, 0.01, size=(n, 3))


def walking(
    seconds: float, rng: np.random.Generator, rate: float = RATE, lo: float = 0.7, hi: float = 1.6
) -> NDArray[np.float64]:
    """Periodic vertical acceleration between ``lo`` and ``hi`` g at ~2 steps/s."""
    t = np.arange(round(seconds * rate)) / rate
    mag = (lo + hi) / 2 + (hi - lo) / 2 * np.sin(2 * np.pi * 2.0 * t)
    out: NDArray[np.float64] = mag[:, None] * UP + rng.normal(0.0, 0.03, size=(len(t), 3))
    return out


def fall(
    rng: np.random.Generator,
    rate: float = RATE,
    peak_g: float = 5.0,
    before_s: float = 4.0,
    after_s: float = 5.0,
) -> tuple[NDArray[np.float64], float]:
    """Upright walking, a 0.3 s free fall, an impact spike, then lying still with gravity
    on another axis. Returns the signal and the impact time in seconds."""
    pre = walking(before_s, rng, rate)
    n_ff = round(0.3 * rate)
    freefall = np.linspace(1.0, 0.3, n_ff)[:, None] * UP
    n_imp = max(3, round(0.1 * rate))
    shape = np.hanning(n_imp + 2)[1:-1]
    direction = (UP + LYING) / np.linalg.norm(UP + LYING)
    impact = (0.5 + (peak_g - 0.5) * shape)[:, None] * direction
    n_settle = round(0.4 * rate)
    w = np.linspace(0.0, 1.0, n_settle)[:, None]
    settle = (1 - w) * UP + w * LYING + rng.normal(0.0, 0.15, size=(n_settle, 3))
    post = still(after_s, LYING, rng, rate)
    signal = np.concatenate([pre, freefall, impact, settle, post])
    impact_s = (len(pre) + n_ff + int(np.argmax(shape))) / rate
    return signal, impact_s


def jogging(seconds: float, rng: np.random.Generator, rate: float = RATE) -> NDArray[np.float64]:
    """Running: sharp heel strikes up to ~3.5 g every 0.35 s, near-zero in flight."""
    t = np.arange(round(seconds * rate)) / rate
    phase = (t % 0.35) / 0.35
    mag = 0.4 + 3.1 * np.exp(-(((phase - 0.2) / 0.06) ** 2))
    out: NDArray[np.float64] = mag[:, None] * UP + rng.normal(0.0, 0.05, size=(len(t), 3))
    return out


def random_rotation(rng: np.random.Generator) -> NDArray[np.float64]:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def batches(signal: NDArray[np.float64], size: int, t0_ms: int = 1_000_000, rate: float = RATE):  # type: ignore[no-untyped-def]
    """Yield (batch, first-sample time in ms) pairs."""
    for start in range(0, len(signal), size):
        yield signal[start : start + size], t0_ms + round(start * 1000 / rate)


def slump_from_sitting(
    rng: np.random.Generator, rate: float = RATE, peak_g: float = 1.8
) -> NDArray[np.float64]:
    """Sitting (small movements), then sliding off the chair: the trunk tips 45° over
    1.2 s and the last 45° in 0.3 s while the body sinks (|a| dips to 0.8 g: the descent),
    a soft landing that never reaches 2 g, then lying still on the floor (an older adult
    fainting while seated)."""
    sit = UP + rng.normal(0.0, 0.06, size=(round(6 * rate), 3))
    n_slow, n_fast = round(1.2 * rate), round(0.3 * rate)
    angle = np.radians(np.r_[np.linspace(0, 45, n_slow, endpoint=False), np.linspace(45, 90, n_fast)])[
        :, None
    ]
    sink = 1.0 - 0.2 * np.sin(np.pi * np.arange(n_slow + n_fast) / (n_slow + n_fast))[:, None]
    tip = (np.cos(angle) * UP + np.sin(angle) * LYING) * sink + rng.normal(
        0.0, 0.06, size=(n_slow + n_fast, 3)
    )
    n_land = round(0.3 * rate)
    land = (1.0 + (peak_g - 1.0) * np.hanning(n_land + 2)[1:-1])[:, None] * LYING
    out: NDArray[np.float64] = np.concatenate([sit, tip, land, still(8, LYING, rng, rate)])
    return out


def soft_roll_in_bed(
    rng: np.random.Generator, rate: float = RATE, peak_g: float = 1.6
) -> NDArray[np.float64]:
    """Lying on the back, turning onto the side in 0.8 s with a soft mattress bump
    (below 2 g), lying still again: the low-impact path must not take it for a fall."""
    side = np.array([0.0, 0.0, 1.0])
    n = round(0.8 * rate)
    w = np.linspace(0.0, 1.0, n)[:, None]
    turn = (1 - w) * LYING + w * side
    turn = turn / np.linalg.norm(turn, axis=1, keepdims=True)
    n_bump = max(3, round(0.12 * rate))
    bump = (1.0 + (peak_g - 1.0) * np.hanning(n_bump + 2)[1:-1])[:, None] * side
    out: NDArray[np.float64] = np.concatenate(
        [still(6, LYING, rng, rate), turn, bump, still(8, side, rng, rate)]
    )
    return out
