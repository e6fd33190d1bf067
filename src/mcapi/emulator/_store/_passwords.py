"""Password hashing for emulated users.

The emulator stores users' passwords the way a real service must: through a memory-hard KDF
(stdlib ``hashlib.scrypt``) with a per-password random salt, never in plaintext. A stored hash is
self-describing, ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``, so changing the cost (``n``) later
keeps verifying the hashes made before. Verification compares in constant time.

``n`` defaults to 2**14 (about 16 MiB and a few tens of milliseconds per hash); tests pass 2**10.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["DEFAULT_N", "hash_password", "verify_password"]

DEFAULT_N = 2**14
_R = 8
_P = 1
_SALT_BYTES = 16
_HASH_BYTES = 32
_PREFIX = "scrypt"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # scrypt needs 128 * r * n bytes (plus a little); allow exactly what the cost asks for.
    maxmem = 128 * r * (n + p + 2) + 1024 * 1024
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=length
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str, *, n: int = DEFAULT_N) -> str:
    """Hash ``password`` with scrypt and a fresh random salt; returns the self-describing string."""
    if n < 2 or n & (n - 1):
        raise ValueError(f"scrypt n must be a power of two greater than 1, not {n}")
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, n, _R, _P, _HASH_BYTES)
    return f"{_PREFIX}${n}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(encoded: str, password: str) -> bool:
    """True when ``password`` matches ``encoded``; False if wrong or ``encoded`` is malformed."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != _PREFIX:
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        expected = base64.b64decode(parts[5], validate=True)
    except ValueError:
        return False
    actual = _scrypt(password, salt, n, r, p, len(expected))
    return hmac.compare_digest(actual, expected)
