"""Signed session cookies and password hashes, with the standard library only (hmac, hashlib).

A session value is ``<base64url(json payload)>.<base64url(HMAC-SHA256)>``; the payload names the
operator and an expiry (epoch seconds). Verification is constant-time and rejects expired values.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import orjson

PBKDF2_ITERATIONS = 200_000
SESSION_TTL_S = 12 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class PasswordHash:
    salt: bytes
    digest: bytes

    @classmethod
    def create(cls, password: str) -> PasswordHash:
        salt = secrets.token_bytes(16)
        return cls(salt=salt, digest=_pbkdf2(password, salt))

    def matches(self, password: str) -> bool:
        return hmac.compare_digest(self.digest, _pbkdf2(password, self.salt))


def _pbkdf2(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PBKDF2_ITERATIONS)


@dataclass(frozen=True, slots=True)
class SessionSigner:
    key: bytes

    def sign(self, username: str, *, now_s: int, ttl_s: int = SESSION_TTL_S) -> str:
        payload = _b64(orjson.dumps({"u": username, "exp": now_s + ttl_s}))
        return f"{payload}.{self._mac(payload)}"

    def verify(self, value: str, *, now_s: int) -> str | None:
        """The operator named by a valid, unexpired session value; ``None`` otherwise."""
        payload, sep, mac = value.partition(".")
        if not sep or not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            data = orjson.loads(_unb64(payload))
        except (ValueError, orjson.JSONDecodeError):
            return None
        if not isinstance(data, dict):
            return None
        username, expires = data.get("u"), data.get("exp")
        if not isinstance(username, str) or not isinstance(expires, int) or expires <= now_s:
            return None
        return username

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self.key, payload.encode(), hashlib.sha256).digest())


def tokens_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
