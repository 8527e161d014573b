"""Alembic environment: runs on the connection handed over by ``appbuilder.db.migrate``,
or on the database of the current settings when Alembic is driven from its own CLI."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

import appbuilder.db.models  # noqa: F401  (registers every table)
from appbuilder.db import queue_schema
from appbuilder.db.base import Base
from appbuilder.db.session import make_engine
from appbuilder.db.types import EncryptedText, UTCDateTime
from appbuilder.settings import get_settings

target_metadata = Base.metadata


def render_item(
    type_: str,
    obj: Any,
    autogen_context: AutogenContext,  # noqa: ARG001
) -> str | Literal[False]:
    """Migrations name plain SQLAlchemy types, so they never import our application code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, EncryptedText):
        return "sa.Text()"
    return False


def include_name(name: str | None, type_: str, _parent: Any) -> bool:
    """The job queue's tables belong to procrastinate, installed by revision 0003."""
    return not (type_ == "table" and queue_schema.is_queue_object(name))


def configure_options(connection: Connection) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        "render_as_batch": connection.dialect.name == "sqlite",
        "compare_type": True,
        "compare_server_default": True,
        "render_item": render_item,
        "include_name": include_name,
    }


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, **configure_options(connection))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = make_engine(get_settings().database)
    try:
        with engine.connect() as connection:
            run_on(connection)
            connection.commit()
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=get_settings().database.url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
