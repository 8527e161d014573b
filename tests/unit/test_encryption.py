from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appbuilder.errors import DecryptionError
from appbuilder.security.encryption import decrypt, encrypt

KEY_A = "a" * 48
KEY_B = "b" * 48


@given(st.text(max_size=500))
def test_round_trip(plaintext: str) -> None:
    assert decrypt(encrypt(plaintext, KEY_A), KEY_A) == plaintext


def test_ciphertext_does_not_contain_the_plaintext_and_is_randomised() -> None:
    first = encrypt("sk_live_123456789", KEY_A)
    assert "sk_live" not in first
    assert first != encrypt("sk_live_123456789", KEY_A)


def test_wrong_key_fails_loudly() -> None:
    token = encrypt("sk_live_123456789", KEY_A)
    with pytest.raises(DecryptionError, match="different UAB_SECRET_KEY"):
        decrypt(token, KEY_B)


def test_tampered_ciphertext_fails_loudly() -> None:
    token = encrypt("sk_live_123456789", KEY_A)
    tampered = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    with pytest.raises(DecryptionError):
        decrypt(tampered, KEY_A)
