from __future__ import annotations

import bcrypt
import pytest

from appbuilder.errors import ValidationError
from appbuilder.security.passwords import hash_password, verify_password


def test_hash_is_bcrypt_at_cost_10() -> None:
    hashed = hash_password("correct horse battery staple")
    assert hashed.startswith("$2b$10$")
    assert bcrypt.checkpw(b"correct horse battery staple", hashed.encode())


def test_same_password_gets_a_new_salt_each_time() -> None:
    assert hash_password("s3cret-pass") != hash_password("s3cret-pass")


def test_verify_accepts_the_password_and_rejects_others() -> None:
    hashed = hash_password("pässwörd-ünïcode")
    assert verify_password("pässwörd-ünïcode", hashed)
    assert not verify_password("passwörd-ünïcode", hashed)
    assert not verify_password("", hashed)


def test_passwords_over_72_bytes_are_refused_not_truncated() -> None:
    with pytest.raises(ValidationError) as caught:
        hash_password("é" * 37)  # 74 bytes in UTF-8
    assert (caught.value.field, caught.value.rule) == ("password", "max_bytes")
    hashed = hash_password("a" * 72)
    assert not verify_password("a" * 72 + "b", hashed)


def test_verify_against_something_that_is_not_a_hash_is_false() -> None:
    assert not verify_password("anything", "not-a-bcrypt-hash")
