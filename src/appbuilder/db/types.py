"""Column types that behave the same on SQLite and PostgreSQL.

PostgreSQL gets its native types (``timestamptz``, ``jsonb``, ``text[]``); SQLite gets JSON
and naive-UTC timestamps. Python code always sees timezone-aware UTC datetimes, lists and
dicts, whichever database is underneath.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cuid2 import create_id
from sqlalchemy import JSON, DateTime, Dialect, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator, TypeEngine

from appbuilder.security import encryption
from appbuilder.settings import get_settings

ID_LENGTH = 25


def new_id() -> str:
    """A cuid2: collision-resistant across processes and machines, safe to show in URLs."""
    return create_id(length=ID_LENGTH)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python; ``timestamptz`` on PostgreSQL, naive UTC on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_object() -> TypeEngine[Any]:
    """``jsonb`` on PostgreSQL (indexable, compact), JSON text on SQLite."""
    return JSON().with_variant(postgresql.JSONB(), "postgresql")


def string_list() -> TypeEngine[Any]:
    """A real ``text[]`` on PostgreSQL, a JSON array on SQLite."""
    return JSON().with_variant(postgresql.ARRAY(Text()), "postgresql")


class EncryptedText(TypeDecorator[str]):
    """Text encrypted with a key derived from UAB_SECRET_KEY; the database sees only Fernet
    tokens. Reading with another key raises DecryptionError rather than returning junk."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:  # noqa: ARG002
        if value is None:
            return None
        return encryption.encrypt(value, get_settings().secret_key_value())

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:  # noqa: ARG002
        if value is None:
            return None
        return encryption.decrypt(value, get_settings().secret_key_value())
