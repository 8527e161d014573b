from __future__ import annotations

import hashlib
import re

from hypothesis import given
from hypothesis import strategies as st

from appbuilder.security.api_keys import generate_api_key, hashes_match, parse_api_key


def test_key_format_is_recognisable_and_hash_is_of_the_whole_key() -> None:
    key = generate_api_key()
    assert re.fullmatch(r"uab_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}", key.full_key)
    assert key.full_key.split("_")[1] == key.prefix
    assert key.key_hash == hashlib.sha256(key.full_key.encode()).hexdigest()
    secret = key.full_key.split("_", 2)[2]
    assert secret not in key.key_hash


def test_keys_are_unique() -> None:
    keys = {generate_api_key().full_key for _ in range(200)}
    assert len(keys) == 200


def test_parse_round_trips_and_matches_stored_hash() -> None:
    key = generate_api_key()
    parsed = parse_api_key(f"  {key.full_key}\n")
    assert parsed is not None
    assert parsed.prefix == key.prefix
    assert hashes_match(key.key_hash, parsed.key_hash)


def test_a_changed_secret_does_not_match() -> None:
    key = generate_api_key()
    last = key.full_key[-1]
    tampered = key.full_key[:-1] + ("A" if last != "A" else "B")
    parsed = parse_api_key(tampered)
    assert parsed is not None
    assert not hashes_match(key.key_hash, parsed.key_hash)


@given(st.text(max_size=120))
def test_parse_never_crashes_and_rejects_non_keys(candidate: str) -> None:
    parsed = parse_api_key(candidate)
    if parsed is not None:
        assert candidate.strip().startswith("uab_")
