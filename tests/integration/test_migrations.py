"""Migrations: they build exactly the models' schema, and go down and up cleanly."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine, inspect, text

import appbuilder.db.models  # noqa: F401
from appbuilder.db import migrate
from appbuilder.db.base import Base

OUR_TABLES = set(Base.metadata.tables)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {migrate.VERSION_TABLE}


def _enum_types(engine: Engine) -> set[str]:
    if engine.dialect.name != "postgresql":
        return set()
    with engine.connect() as connection:
        return set(
            connection.execute(text("SELECT typname FROM pg_type WHERE typtype = 'e'")).scalars()
        )


def test_upgrade_from_empty_builds_every_table(empty_engine: Engine) -> None:
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert _tables(empty_engine) == OUR_TABLES
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
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert _tables(empty_engine) == OUR_TABLES
    assert migrate.schema_drift(empty_engine) == []


def test_postgresql_enum_types_are_created(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    if empty_engine.dialect.name == "postgresql":
        assert _enum_types(empty_engine) == {
            "user_role", "subscription_tier", "project_template", "project_status",
            "agent_type", "generation_status", "deployment_status",
        }  # fmt: skip
    else:
        assert _enum_types(empty_engine) == set()


def test_drop_everything_leaves_an_empty_database(engine: Engine) -> None:
    migrate.drop_everything(engine)
    assert inspect(engine).get_table_names() == []
    assert _enum_types(engine) == set()


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


def test_every_seed_index_exists_in_the_database(engine: Engine) -> None:
    """On both databases, after migrating: each seed index leads with the seed's column."""
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
