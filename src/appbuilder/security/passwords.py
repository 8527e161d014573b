"""Password hashing with bcrypt at cost 10, the design document's rule.

bcrypt only reads the first 72 bytes of its input; rather than silently ignoring the rest
(so that two different long passwords would match), longer passwords are refused.
"""

from __future__ import annotations

import bcrypt

from appbuilder.errors import ValidationError

BCRYPT_COST = 10
MAX_PASSWORD_BYTES = 72


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
    return bcrypt.hashpw(_encode(password), bcrypt.gensalt(rounds=BCRYPT_COST)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """Constant-time check; a password that could never have been stored simply fails."""
    try:
        encoded = _encode(password)
    except ValidationError:
        return False
    try:
        return bcrypt.checkpw(encoded, password_hash.encode("ascii"))
    except ValueError:  # not a bcrypt hash at all
        return False
