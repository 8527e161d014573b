"""Keyset pagination, newest first, with a hard maximum page size.

Keyset (``created_at, id``) rather than OFFSET: the cost of a page does not grow with how
deep the client has scrolled, and rows inserted meanwhile neither repeat nor vanish.
The cursor is opaque to clients (base64 of the last row's key).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from appbuilder.errors import ValidationError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class Keyed(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


T = TypeVar("T", bound=Keyed)
Item = TypeVar("Item")


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise ValidationError(
                "limit", "range", f"limit must be between 1 and {MAX_PAGE_SIZE}, got {self.limit}."
            )
        if self.cursor is not None:
            decode_cursor(self.cursor)


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    next_cursor: str | None


def encode_cursor(created_at: datetime, row_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), row_id]).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, row_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        moment = datetime.fromisoformat(created)
        if not isinstance(row_id, str) or moment.tzinfo is None:
            raise ValueError(cursor)
    except (ValueError, TypeError, UnicodeError, binascii.Error) as exc:
        raise ValidationError(
            "cursor", "format", "cursor is not one this API returned; start again without it."
        ) from exc
    return moment, row_id


def newest_first(
    query: Select[Any],
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[str],
    page: PageRequest,
) -> Select[Any]:
    """Order newest first, resume after the cursor, fetch one extra row to know if more exist."""
    if page.cursor is not None:
        moment, last_id = decode_cursor(page.cursor)
        query = query.where(tuple_(created_at, row_id) < tuple_(moment, last_id))
    return query.order_by(created_at.desc(), row_id.desc()).limit(page.limit + 1)


def to_page(rows: Sequence[T], page: PageRequest) -> Page[T]:
    items = list(rows[: page.limit])
    more = len(rows) > page.limit
    next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if more else None
    return Page(items=items, next_cursor=next_cursor)
