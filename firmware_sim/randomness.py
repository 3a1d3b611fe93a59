"""Seeded randomness: one independent ``numpy`` generator per (global seed, device id, stream)."""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(seed: int, *names: str) -> int:
    """A 64-bit seed that depends only on ``seed`` and ``names`` (stable across runs and platforms)."""
    digest = hashlib.blake2b(
        "\x1f".join((str(seed), *names)).encode(), digest_size=8, person=b"anxin-sim"
    ).digest()
    return int.from_bytes(digest, "big")


def device_rng(seed: int, device_id: str, stream: str = "model") -> np.random.Generator:
    """The generator of one device's ``stream``; adding devices never changes another device's draws."""
    return np.random.default_rng(derive_seed(seed, device_id, stream))
