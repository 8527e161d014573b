from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appbuilder.errors import ValidationError
from appbuilder.services.pagination import (
    MAX_PAGE_SIZE,
    PageRequest,
    decode_cursor,
    encode_cursor,
)


@given(
    st.datetimes(timezones=st.just(UTC)),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=32),
)
def test_cursor_round_trips(moment: datetime, row_id: str) -> None:
    assert decode_cursor(encode_cursor("-created_at", moment, row_id)) == (
        "-created_at",
        moment,
        row_id,
    )


@pytest.mark.parametrize(
    "cursor",
    ["", "not base64!", "bnVsbA", "WzEsMl0", "WyJ4IiwgImEiXQ", "WyIyMDI2LTAxLTAxIiwgImEiXQ"],
)
def test_foreign_cursors_are_a_validation_error(cursor: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PageRequest(cursor=cursor)
    assert caught.value.field == "cursor"


@pytest.mark.parametrize(
    ("moment", "row_id"),
    [
        ("0001-01-01T00:00:00+05:00", "abc"),  # cannot be put in UTC
        ("2026-01-01T00:00:00\u0000+00:00", "abc"),
        ("2026-01-01T00:00:00+00:00", "abc\n"),
        ("2026-01-01T00:00:00+00:00", "abc\u0000"),
        (1767225600, "abc"),
    ],
)
def test_crafted_cursors_are_a_validation_error(moment: object, row_id: str) -> None:
    raw = json.dumps(["-created_at", moment, row_id]).encode()
    with pytest.raises(ValidationError) as caught:
        PageRequest(cursor=base64.urlsafe_b64encode(raw).decode().rstrip("="))
    assert caught.value.field == "cursor"


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE_SIZE + 1, 10_000])
def test_page_size_has_a_hard_maximum(limit: int) -> None:
    with pytest.raises(ValidationError) as caught:
        PageRequest(limit=limit)
    assert (caught.value.field, caught.value.rule) == ("limit", "range")


def test_page_size_at_the_maximum_is_allowed() -> None:
    assert PageRequest(limit=MAX_PAGE_SIZE).limit == MAX_PAGE_SIZE
