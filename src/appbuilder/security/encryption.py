"""Encryption at rest for third-party secrets (tokens, credentials users give us).

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) with a key derived by HKDF from
``UAB_SECRET_KEY``, so the one secret the operator manages protects stored data too, and a
derived key is never reused for anything else. A wrong key is an error, never garbage.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from appbuilder.errors import DecryptionError

_HKDF_INFO = b"appbuilder/encryption-at-rest/v1"


@lru_cache(maxsize=8)
def fernet_for(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(plaintext: str, secret_key: str) -> str:
    return fernet_for(secret_key).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(ciphertext: str, secret_key: str) -> str:
    try:
        return fernet_for(secret_key).decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError(
            "Stored secret could not be decrypted: it was encrypted with a different "
            "UAB_SECRET_KEY (or was altered). Restore the key it was written with."
        ) from exc
