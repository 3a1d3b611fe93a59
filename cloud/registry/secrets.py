"""Per-device MQTT secrets: generated at provisioning, shown once, kept only as a Mosquitto hash (pure).

The hash is what ``mosquitto_passwd`` writes for Mosquitto 2: ``$7$<iterations>$<b64 salt>$<b64 hash>``
with PBKDF2-HMAC-SHA512, a 12-byte salt and a 64-byte digest. ``anxin broker sync`` copies it into the
broker's password file unchanged, so the center never needs the secret again. The iteration count is
Mosquitto's own (101): the secrets are 144-bit random tokens, not chosen passwords, so their strength is
their entropy, and a connect storm of 10,000 devices stays cheap for the broker.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

MOSQUITTO_ITERATIONS = 101
SALT_BYTES = 12
DIGEST_BYTES = 64
SECRET_BYTES = 18  # 144 bits -> 24 characters of base64url


def new_secret() -> str:
    """A fresh device secret (base64url, no padding: safe in a URL, a CLI flag or a JSON file)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def mosquitto_hash(secret: str, *, salt: bytes | None = None, iterations: int = MOSQUITTO_ITERATIONS) -> str:
    """``secret`` hashed as ``mosquitto_passwd`` hashes it (``$7$`` = PBKDF2-SHA512)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations, DIGEST_BYTES)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def matches(secret: str, hashed: str) -> bool:
    """Whether ``secret`` is the one ``hashed`` was made from (constant-time); False for a bad hash."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[0] or parts[1] != "7" or not parts[2].isdigit():
        return False
    try:
        salt, digest = base64.b64decode(parts[3], validate=True), base64.b64decode(parts[4], validate=True)
    except (binascii.Error, ValueError):
        return False
    iterations = int(parts[2])
    if not 1 <= iterations <= 10_000_000:
        return False
    candidate = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations, len(digest))
    return hmac.compare_digest(candidate, digest)
