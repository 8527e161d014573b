"""Schema management: Alembic driven from Python, plus a full drop for ``uab db reset``.

The migrations ship inside the package, so an installed ``uab`` can upgrade any database
without a checkout. Every operation runs in one transaction (PostgreSQL and, with our
SQLite setup, SQLite too roll DDL back), so a failed migration leaves the schema as it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
from appbuilder.db import queue_schema
from appbuilder.db.base import Base
from appbuilder.errors import MigrationError, RefusedError

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
def migration_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for schema changes.

    On SQLite, foreign keys are switched off for its duration and checked before commit:
    Alembic's batch mode rebuilds a table by copying it and dropping the old one, and with
    foreign keys on, that DROP would cascade-delete every child row. The pragma can only
    change outside a transaction, hence this wrapper around BEGIN.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        raw = connection.connection.dbapi_connection
        if sqlite and raw is not None:
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    _check_foreign_keys(connection)
        finally:
            if sqlite and raw is not None:
                raw.execute("PRAGMA foreign_keys = ON")


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise MigrationError(
            f"The migration would leave rows with broken foreign keys in {', '.join(tables)}; "
            "it was rolled back.",
            tables=tables,
        )


@contextmanager
def _begin(bind: Bind) -> Iterator[Connection]:
    """A transaction of our own on an engine; on a connection, the caller's transaction, so
    several steps (drop, migrate, seed) can commit or roll back as one."""
    if isinstance(bind, Connection):
        yield bind
    else:
        with migration_transaction(bind) as connection:
            yield connection


def upgrade(bind: Bind, revision: str = "head") -> None:
    with _begin(bind) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(bind: Bind, revision: str) -> None:
    with _begin(bind) as connection:
        command.downgrade(alembic_config(connection), revision)


def create_revision(bind: Bind, message: str, script_location: Path = MIGRATIONS_DIR) -> Path:
    """Autogenerate a migration from the difference between the models and the database,
    formatted with ruff when it is installed. Refused when there is no difference."""
    if not os.access(script_location / "versions", os.W_OK):
        raise RefusedError(
            f"{script_location / 'versions'} is not writable: make revisions in a source "
            "checkout (pip install -e .), not in an installed package."
        )

    def skip_if_empty(_context: Any, _revision: Any, directives: list[Any]) -> None:
        if directives and directives[0].upgrade_ops.is_empty():
            directives.clear()

    with _begin(bind) as connection:
        config = alembic_config(connection, script_location)
        script = command.revision(
            config,
            message=message,
            autogenerate=True,
            process_revision_directives=skip_if_empty,
        )
    if script is None or isinstance(script, list):
        raise RefusedError("The models and the database agree: there is nothing to migrate.")
    path = Path(script.path)
    _format(path)
    return path


def _format(path: Path) -> None:
    beside_python = Path(sys.executable).with_name("ruff")
    ruff = str(beside_python) if beside_python.exists() else shutil.which("ruff")
    if ruff is None:
        return
    for args in (["check", "--fix", "--quiet", "--exit-zero"], ["format", "--quiet"]):
        subprocess.run([ruff, *args, str(path)], check=False, capture_output=True)  # noqa: S603


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
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "render_as_batch": connection.dialect.name == "sqlite",
                "include_name": lambda name, type_, _parent: (
                    not (type_ == "table" and queue_schema.is_queue_object(name))
                ),
            },
        )
        return list(compare_metadata(context, Base.metadata))


def drop_everything(bind: Bind) -> None:
    """Drop every table in the database's default schema, ours or not, and our enum types."""
    with _begin(bind) as connection:
        if connection.dialect.name == "postgresql":
            queue_schema.uninstall(connection)
        existing = MetaData()
        existing.reflect(connection)
        existing.drop_all(connection)
        if connection.dialect.name == "postgresql":
            quote = connection.dialect.identifier_preparer.quote
            # get_enums() exists only on the PostgreSQL inspector, which the base type hides
            for enum in inspect(connection).get_enums():  # type: ignore[attr-defined]
                connection.execute(text(f"DROP TYPE IF EXISTS {quote(enum['name'])} CASCADE"))
