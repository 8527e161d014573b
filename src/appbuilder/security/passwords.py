"""Password hashing with bcrypt at cost 10, the design document's rule.

bcrypt only reads the first 72 bytes of its input; rather than silently ignoring the rest
(so that two different long passwords would match), longer passwords are refused.
"""

from __future__ import annotations

import os
import threading

import bcrypt

from appbuilder.errors import ValidationError

BCRYPT_COST = 10
MAX_PASSWORD_BYTES = 72
# bcrypt releases the GIL, so every thread hashing at once takes a core. A burst of log-ins
# would then starve everything else (health checks, API calls); at most one hash per core
# but one runs at a time, and the others wait without using CPU.
_HASH_SLOTS = threading.BoundedSemaphore(max(1, (os.cpu_count() or 2) - 1))


def _encode(password: str) -> bytes:
    encoded = password.encode("utf-8")
    if len(encoded) > MAX_PASSWORD_BYTES:
        raise ValidationError(
            "password",
            "max_bytes",
            f"Password is too long: at most {MAX_PASSWORD_BYTES} bytes in UTF-8 "
            f"(this one has {len(encoded)}).",
        )
    return encoded


def hash_password(password: str) -> str:
    """A bcrypt hash (``$2b$10$...``) safe to store."""
    encoded = _encode(password)
    with _HASH_SLOTS:
        return bcrypt.hashpw(encoded, bcrypt.gensalt(rounds=BCRYPT_COST)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """Constant-time check; a password that could never have been stored simply fails."""
    try:
        encoded = _encode(password)
    except ValidationError:
        return False
    try:
        with _HASH_SLOTS:
            return bcrypt.checkpw(encoded, password_hash.encode("ascii"))
    except ValueError:  # not a bcrypt hash at all
        return False
