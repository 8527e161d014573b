"""Backup and restore: seed -> backup -> empty -> restore gives back every row of every table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select

from appbuilder.db import backup as backups
from appbuilder.db import migrate
from appbuilder.db.session import make_session_factory, transaction
from appbuilder.errors import ExternalToolError, RefusedError, ValidationError
from appbuilder.services.seed import seed
from tests.integration.conftest import engine_for


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted(tuple(map(repr, row)) for row in connection.execute(select(table)))
            for name, table in metadata.tables.items()
        }


def test_round_trip_restores_every_row(engine: Engine, tmp_path: Path) -> None:
    with transaction(make_session_factory(engine)) as session:
        seed(session, password="demo-password")
    before = snapshot(engine)
    assert all(before[t] for t in ("users", "projects", "generations", "api_keys", "deployments"))

    target = backups.backup(engine, tmp_path / "backup.dump")
    migrate.drop_everything(engine)
    migrate.upgrade(engine)
    emptied = snapshot(engine)
    assert emptied["users"] == []
    assert emptied["generations"] == []

    backups.restore(engine, target)
    assert snapshot(engine) == before


def test_restore_over_changed_data_replaces_it(engine: Engine, tmp_path: Path) -> None:
    with transaction(make_session_factory(engine)) as session:
        seed(session, password="demo-password")
    before = snapshot(engine)
    target = backups.backup(engine, tmp_path / "b")
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM projects WHERE status = 'DRAFT'")
        connection.exec_driver_sql("UPDATE users SET name = 'changed'")
    backups.restore(engine, target)
    assert snapshot(engine) == before


def test_backup_refuses_to_overwrite_without_force(engine: Engine, tmp_path: Path) -> None:
    target = tmp_path / "exists.dump"
    target.write_text("precious")
    with pytest.raises(RefusedError, match="--force"):
        backups.backup(engine, target)
    assert target.read_text() == "precious"
    backups.backup(engine, target, overwrite=True)
    assert target.read_text(errors="replace") != "precious"
    assert not list(tmp_path.glob(".*.partial"))


def test_restore_of_a_missing_file(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        backups.restore(engine, tmp_path / "nope")


def test_restore_refuses_a_file_that_is_not_a_backup_of_this_kind(
    engine: Engine, tmp_path: Path
) -> None:
    junk = tmp_path / "junk"
    junk.write_text("hello")
    with pytest.raises(ValidationError, match="unrecognised backup"):
        backups.restore(engine, junk)
    other = tmp_path / "other"
    other.write_bytes(
        backups.PG_DUMP_MAGIC if engine.dialect.name == "sqlite" else backups.SQLITE_MAGIC
    )
    with pytest.raises(ValidationError, match="same kind"):
        backups.restore(engine, other)


def test_missing_postgresql_tools_are_named(
    pg_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = backups.backup(pg_engine, tmp_path / "good.sql")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(ExternalToolError, match=r"pg_dump.*postgresql-client"):
        backups.backup(pg_engine, tmp_path / "x.sql")
    assert not (tmp_path / "x.sql").exists()
    with pytest.raises(ExternalToolError, match=r"psql.*postgresql-client"):
        backups.restore(pg_engine, target)


def test_a_failing_pg_dump_reports_its_error(pg_engine: Engine, tmp_path: Path) -> None:
    engine = engine_for(pg_engine.url.set(database="no_such_database_here"))
    with pytest.raises(ExternalToolError, match="no_such_database_here"):
        backups.backup(engine, tmp_path / "x.sql")
    assert not (tmp_path / "x.sql").exists()
    assert not list(tmp_path.glob(".*.partial"))
