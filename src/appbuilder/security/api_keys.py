"""API key secrets: shown to the user once, stored only as a hash.

A key looks like ``uab_<prefix>_<secret>``. The prefix is public: it is stored in clear to
find the row and to show the user which key is which. The secret has 256 bits of entropy,
so a single SHA-256 is enough to make the stored hash useless to a thief; a slow hash such
as bcrypt would only add latency to every API request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_SCHEME = "uab"
PREFIX_LENGTH = 8
SECRET_BYTES = 32  # 43 url-safe characters, 256 bits
_KEY_RE = re.compile(rf"^uab_([A-Za-z0-9]{{{PREFIX_LENGTH}}})_([A-Za-z0-9_-]{{43}})$")
_PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class NewApiKey:
    """A freshly made key: ``full_key`` goes to the user once; the rest is stored."""

    full_key: str
    prefix: str
    key_hash: str


@dataclass(frozen=True)
class ParsedApiKey:
    prefix: str
    key_hash: str


def hash_secret(full_key: str) -> str:
    return hashlib.sha256(full_key.encode("utf-8")).hexdigest()


def generate_api_key() -> NewApiKey:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    full_key = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return NewApiKey(full_key=full_key, prefix=prefix, key_hash=hash_secret(full_key))


def parse_api_key(candidate: str) -> ParsedApiKey | None:
    """Split a presented key into its look-up prefix and hash; ``None`` if it is not one."""
    match = _KEY_RE.match(candidate.strip())
    if match is None:
        return None
    return ParsedApiKey(prefix=match.group(1), key_hash=hash_secret(match.group(0)))


def hashes_match(stored_hash: str, presented_hash: str) -> bool:
    return hmac.compare_digest(stored_hash, presented_hash)
