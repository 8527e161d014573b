"""Column building blocks shared by the models, so each rule is written once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from appbuilder.db.types import UTCDateTime, new_id, utcnow

ID_COLUMN_LENGTH = 32


def enum_type(enum_cls: type[StrEnum], name: str) -> Enum:
    """A native enum type on PostgreSQL, a CHECK constraint on SQLite: the database itself
    refuses values outside the enum, whatever client writes to it."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=True,
        create_constraint=True,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


def id_column() -> Mapped[str]:
    return mapped_column(String(ID_COLUMN_LENGTH), primary_key=True, default=new_id)


def owner_column(target: str, *, index: bool = True) -> Mapped[str]:
    """A required reference whose rows go when the parent goes (see docs on deletion)."""
    return mapped_column(
        String(ID_COLUMN_LENGTH), ForeignKey(target, ondelete="CASCADE"), index=index
    )


def created_at_column() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())


def updated_at_column() -> Mapped[datetime]:
    # Set in Python on every ORM update, so it changes even within one second on SQLite.
    return mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=func.now())
