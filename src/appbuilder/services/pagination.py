"""Keyset pagination with a hard maximum page size.

Keyset (sort column, then id) rather than OFFSET: the cost of a page does not grow with
how deep the client has scrolled, and rows inserted meanwhile neither repeat nor vanish.
The cursor is opaque to clients: base64 of the sort it belongs to and the last row's key,
so a cursor from one sort order is refused by another instead of skipping rows.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Generic, TypeVar

from sqlalchemy import Integer, Select, UnaryExpression, bindparam, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from appbuilder.errors import ValidationError
from appbuilder.rules import ROW_ID

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
#: cursors this API makes are far shorter; a longer one is refused unread
MAX_CURSOR_LENGTH = 512

Item = TypeVar("Item")


@dataclass(frozen=True)
class SortKey:
    """Order by a timestamp column, ties broken by id; ``label`` names it in cursors."""

    column: InstrumentedAttribute[datetime]
    id_column: InstrumentedAttribute[str]
    descending: bool = True

    @property
    def label(self) -> str:
        return ("-" if self.descending else "") + self.column.key

    def value_of(self, row: Any) -> tuple[datetime, str]:
        return getattr(row, self.column.key), getattr(row, self.id_column.key)

    @cached_property
    def order(self) -> tuple[UnaryExpression[Any], UnaryExpression[Any]]:
        """The ORDER BY clauses, built once per key (not per page read)."""
        if self.descending:
            return self.column.desc(), self.id_column.desc()
        return self.column.asc(), self.id_column.asc()


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


def encode_cursor(label: str, moment: datetime, row_id: str) -> str:
    raw = json.dumps([label, moment.isoformat(), row_id]).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        label, moment_text, row_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not (
            isinstance(moment_text, str) and moment_text.isascii() and moment_text.isprintable()
        ):
            # a NUL would slip through fromisoformat
            raise ValueError(cursor)
        moment = datetime.fromisoformat(moment_text)
        if not (isinstance(label, str) and isinstance(row_id, str)) or moment.tzinfo is None:
            raise ValueError(cursor)
        # in UTC here, where a crafted one that cannot be (year 1 at +05:00) is refused:
        # later, binding it overflowed into a 500
        moment = moment.astimezone(UTC)
        if not ROW_ID.fullmatch(row_id):  # not .match: "$" passes a trailing newline
            raise ValueError(cursor)
    except (ValueError, TypeError, OverflowError, UnicodeError, binascii.Error) as exc:
        raise ValidationError(
            "cursor", "format", "cursor is not one this API returned; start again without it."
        ) from exc
    return label, moment, row_id


def paginate(query: Select[Any], key: SortKey, page: PageRequest) -> Select[Any]:
    """Order by the key, resume after the cursor, fetch one extra row to know if more exist."""
    if page.cursor is not None:
        moment, last_id = _position(page.cursor, key)
        position = tuple_(key.column, key.id_column)
        after = tuple_(moment, last_id)
        query = query.where(position < after if key.descending else position > after)
    return query.order_by(*key.order).limit(page.limit + 1)


#: prebuilt page statements, by (query, key, resumes after a cursor): see ``paged``
_PAGED: dict[tuple[int, int, bool], tuple[Select[Any], SortKey, Select[Any]]] = {}


def paged(
    query: Select[Any], key: SortKey, page: PageRequest
) -> tuple[Select[Any], dict[str, Any]]:
    """``paginate`` for statements built once (module-level ``query`` and ``key``): the page's
    statement, itself built once per query, key and "after a cursor or not", with the limit
    and the cursor's position as parameters. The async driver compiles each statement
    object once, so a statement built per request would cost a compile per request."""
    after = page.cursor is not None
    slot = (id(query), id(key), after)
    built = _PAGED.get(slot)
    if built is None:
        statement = query
        if after:
            position = tuple_(key.column, key.id_column)
            bound = tuple_(
                bindparam("after_moment", type_=key.column.type),
                bindparam("after_id", type_=key.id_column.type),
            )
            statement = statement.where(position < bound if key.descending else position > bound)
        statement = statement.order_by(*key.order).limit(bindparam("page_limit", type_=Integer))
        # the query and key are kept with it, so their ids are never reused by other objects
        built = _PAGED.setdefault(slot, (query, key, statement))
    params: dict[str, Any] = {"page_limit": page.limit + 1}
    if page.cursor is not None:
        params["after_moment"], params["after_id"] = _position(page.cursor, key)
    return built[2], params


def _position(cursor: str, key: SortKey) -> tuple[datetime, str]:
    label, moment, last_id = decode_cursor(cursor)
    if label != key.label:
        raise ValidationError(
            "cursor", "sort", f"cursor belongs to sort {label!r}, not {key.label!r}."
        )
    return moment, last_id


def to_page(rows: Sequence[Item], page: PageRequest, key: SortKey) -> Page[Item]:
    items = list(rows[: page.limit])
    if len(rows) <= page.limit:
        return Page(items=items, next_cursor=None)
    return Page(items=items, next_cursor=encode_cursor(key.label, *key.value_of(items[-1])))
