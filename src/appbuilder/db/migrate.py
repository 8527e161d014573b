"""Schema management: Alembic driven from Python, plus a full drop for ``uab db reset``.

The migrations ship inside the package, so an installed ``uab`` can upgrade any database
without a checkout. Every operation runs in one transaction (PostgreSQL and, with our
SQLite setup, SQLite too roll DDL back), so a failed migration leaves the schema as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, inspect, text

import appbuilder.db.models  # noqa: F401  (registers every table)
from appbuilder.db.base import Base

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"


def alembic_config(
    connection: Connection | None = None, script_location: Path = MIGRATIONS_DIR
) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


Bind = Engine | Connection


@contextmanager
def _begin(bind: Bind) -> Iterator[Connection]:
    """A transaction of our own on an engine; on a connection, the caller's transaction, so
    several steps (drop, migrate, seed) can commit or roll back as one."""
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.begin() as connection:
            yield connection


def upgrade(bind: Bind, revision: str = "head") -> None:
    with _begin(bind) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(bind: Bind, revision: str) -> None:
    with _begin(bind) as connection:
        command.downgrade(alembic_config(connection), revision)


def create_revision(bind: Bind, message: str, script_location: Path = MIGRATIONS_DIR) -> Path:
    """Autogenerate a migration from the difference between the models and the database."""
    with _begin(bind) as connection:
        config = alembic_config(connection, script_location)
        script = command.revision(config, message=message, autogenerate=True)
    if script is None or isinstance(script, list):  # pragma: no cover - single head only
        raise RuntimeError("expected exactly one new revision")
    return Path(script.path)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(bind: Bind) -> str | None:
    with _begin(bind) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_drift(bind: Bind) -> list[Any]:
    """What autogenerate would write: empty when the models and the database agree."""
    with _begin(bind) as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "render_as_batch": connection.dialect.name == "sqlite"},
        )
        return list(compare_metadata(context, Base.metadata))


def drop_everything(bind: Bind) -> None:
    """Drop every table in the database's default schema, ours or not, and our enum types."""
    with _begin(bind) as connection:
        existing = MetaData()
        existing.reflect(connection)
        existing.drop_all(connection)
        if connection.dialect.name == "postgresql":
            for enum in inspect(connection).get_enums():  # type: ignore[attr-defined]
                connection.execute(text(f'DROP TYPE IF EXISTS "{enum["name"]}" CASCADE'))
