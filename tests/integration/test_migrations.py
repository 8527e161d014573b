"""Migrations: they build exactly the models' schema, and go down and up cleanly."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Engine, insert, inspect, text
from sqlalchemy.exc import IntegrityError

import appbuilder.db.models  # noqa: F401
from appbuilder.db import migrate
from appbuilder.db.base import Base
from appbuilder.db.models import Project
from appbuilder.db.session import make_session_factory, transaction
from appbuilder.errors import MigrationError, RefusedError
from appbuilder.services.seed import seed

OUR_TABLES = set(Base.metadata.tables)
#: procrastinate's job queue, installed on PostgreSQL by revision 0003
QUEUE_TABLES = {
    "procrastinate_jobs",
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_workers",
}


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {migrate.VERSION_TABLE}


def _enum_types(engine: Engine) -> set[str]:
    if engine.dialect.name != "postgresql":
        return set()
    with engine.connect() as connection:
        return set(
            connection.execute(text("SELECT typname FROM pg_type WHERE typtype = 'e'")).scalars()
        )


def _queue_functions(engine: Engine) -> int:
    if engine.dialect.name != "postgresql":
        return 0
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%'")
            ).scalar_one()
        )


def test_upgrade_from_empty_builds_every_table(empty_engine: Engine) -> None:
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    queue = QUEUE_TABLES if empty_engine.dialect.name == "postgresql" else set()
    assert _tables(empty_engine) == OUR_TABLES | queue
    assert migrate.current_revision(empty_engine) == migrate.head_revision()


def test_models_and_migrations_do_not_drift(engine: Engine) -> None:
    assert migrate.schema_drift(engine) == []


def test_drift_is_detected_when_the_database_differs(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_projects_status"))
    drift = migrate.schema_drift(engine)
    assert any(op[0] == "add_index" and op[1].name == "ix_projects_status" for op in drift)


def test_upgrade_downgrade_upgrade(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "base")
    assert _tables(empty_engine) == set()
    assert _enum_types(empty_engine) == set()
    assert _queue_functions(empty_engine) == 0
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    queue = QUEUE_TABLES if empty_engine.dialect.name == "postgresql" else set()
    assert _tables(empty_engine) == OUR_TABLES | queue
    assert migrate.schema_drift(empty_engine) == []


def test_postgresql_enum_types_are_created(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    if empty_engine.dialect.name == "postgresql":
        ours = {t for t in _enum_types(empty_engine) if not t.startswith("procrastinate_")}
        assert ours == {
            "user_role", "subscription_tier", "project_template", "project_status",
            "agent_type", "generation_status", "deployment_status", "run_status",
        }  # fmt: skip
    else:
        assert _enum_types(empty_engine) == set()


def test_drop_everything_leaves_an_empty_database(engine: Engine) -> None:
    migrate.drop_everything(engine)
    assert inspect(engine).get_table_names() == []
    assert _enum_types(engine) == set()
    assert _queue_functions(engine) == 0


def test_revision_autogenerates_what_changed(engine: Engine, tmp_path: Path) -> None:
    """`uab db revision` writes a migration for the difference; here, in a copy of the
    migrations folder, so the test never touches the package."""
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_generations_status"))
    path = migrate.create_revision(engine, "restore status index", script_location=scripts)
    body = path.read_text()
    assert path.parent == scripts / "versions"
    assert "restore status index" in body
    assert "ix_generations_status" in body
    assert "create_index" in body
    assert f"Revises: {migrate.head_revision()}" in body
    ruff = Path(sys.executable).with_name("ruff")
    lint = subprocess.run(
        [ruff, "check", "--no-cache", "--isolated", str(path)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout


def test_revision_without_changes_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts)
    with pytest.raises(RefusedError, match="nothing to migrate"):
        migrate.create_revision(engine, "no-op", script_location=scripts)
    assert sorted(p.name for p in (scripts / "versions").glob("*.py")) == sorted(
        p.name for p in (migrate.MIGRATIONS_DIR / "versions").glob("*.py")
    )


def test_every_seed_index_exists_in_the_database(engine: Engine) -> None:
    """On both databases, after migrating: each designed index leads with its designed column."""
    inspector = inspect(engine)
    leading = {
        (table, index["column_names"][0], bool(index["unique"]))
        for table in OUR_TABLES
        for index in inspector.get_indexes(table)
    }
    expected = {
        ("users", "email", True),
        ("projects", "user_id", False),
        ("projects", "status", False),
        ("generations", "project_id", False),
        ("generations", "user_id", False),
        ("generations", "status", False),
    }
    assert expected <= leading
    names = {index["name"] for table in OUR_TABLES for index in inspector.get_indexes(table)}
    assert {"ix_projects_user_id_created_at", "ix_generations_project_id_created_at"} <= names


def _counts(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [
            connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
            for t in ("users", "projects", "generations")
        ]


def test_a_table_rebuild_keeps_the_rows_that_point_at_it(engine: Engine) -> None:
    """SQLite rebuilds a table to alter it (Alembic batch mode): drop + copy. With foreign
    keys enforced, that drop would cascade-delete every project and generation."""
    with transaction(make_session_factory(engine)) as session:
        seed(session, password="demo-password")
    before = _counts(engine)
    with migrate.migration_transaction(engine) as connection:
        operations = Operations(MigrationContext.configure(connection))
        with operations.batch_alter_table("users") as batch:  # SQLite: rebuilt
            batch.alter_column("name", type_=sa.String(300))
    assert _counts(engine) == before
    assert before[1] > 0


def test_a_migration_that_breaks_foreign_keys_is_rolled_back(engine: Engine) -> None:
    """SQLite checks foreign keys before commit (they are off during migrations);
    PostgreSQL refuses at once. Either way nothing is written."""
    orphan = insert(Project).values(
        id="orphan", name="x", template="BLOG", config={}, features=[], user_id="nobody"
    )

    def migrate_badly() -> None:
        with migrate.migration_transaction(engine) as connection:
            connection.execute(orphan)

    with pytest.raises((MigrationError, IntegrityError)):
        migrate_badly()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM projects")).scalar_one() == 0
