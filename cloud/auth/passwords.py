"""Password hashes with argon2id (``argon2-cffi``): encoded strings that carry their own parameters.

Hashing and verifying cost tens of milliseconds of CPU and memory on purpose, so the service calls them
through ``asyncio.to_thread``. An unknown username is verified against a dummy hash, so a wrong name and a
wrong password take the same time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

DEFAULT_MEMORY_KIB = 65_536
DEFAULT_TIME_COST = 3


@dataclass
class Passwords:
    memory_kib: int = DEFAULT_MEMORY_KIB
    time_cost: int = DEFAULT_TIME_COST
    _hasher: PasswordHasher = field(init=False, repr=False)
    _dummy: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._hasher = PasswordHasher(memory_cost=self.memory_kib, time_cost=self.time_cost, parallelism=1)
        self._dummy = self._hasher.hash("not-a-password: timing equaliser")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, encoded: str | None, password: str) -> bool:
        """True when ``password`` matches ``encoded``; ``None`` (unknown user) burns the same time."""
        try:
            return self._hasher.verify(encoded or self._dummy, password) and encoded is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, encoded: str) -> bool:
        return self._hasher.check_needs_rehash(encoded)
