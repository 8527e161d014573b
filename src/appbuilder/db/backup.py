"""Backup and restore, the counterparts of the design document's ``pg_dump`` / ``psql`` recipes.

PostgreSQL uses the real tools (a plain SQL dump with ``--clean --if-exists``, restored by
``psql`` in one transaction) so a backup is the format operators already know. SQLite uses
its online backup API, which copies a consistent snapshot even while the app writes.
Backups are written beside the target and renamed into place, so a failed backup never
leaves a truncated file that looks like a good one.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from appbuilder.errors import ExternalToolError, RefusedError, ValidationError

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"--\n-- PostgreSQL database dump"
INSTALL_HINT = (
    "Install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client)."
)


def backup(engine: Engine, target: Path, *, overwrite: bool = False) -> Path:
    target = target.expanduser().resolve()
    _check_target(engine, target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        if engine.dialect.name == "sqlite":
            _sqlite_backup(engine, partial)
        else:
            _pg_dump(engine.url, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _check_target(engine: Engine, target: Path, overwrite: bool) -> None:
    if target.is_dir():
        raise ValidationError("file", "not_directory", f"{target} is a folder; name a file.")
    if target.exists() and not overwrite:
        raise RefusedError(
            f"{target} already exists; pass --force to overwrite it.", path=str(target)
        )
    if engine.dialect.name == "sqlite":
        live = Path(_sqlite_path(engine.url)).resolve()
        if not live.is_file():
            raise RefusedError(f"There is no database at {live} to back up yet.")
        if target == live or target.name.startswith(f"{live.name}-"):
            raise RefusedError(f"{target} is the live database itself; choose another path.")


def restore(engine: Engine, source: Path) -> None:
    """Replace the database's contents with the backup's. Pooled connections are dropped
    afterwards so nobody keeps reading the old data."""
    source = source.expanduser().resolve()
    if source.is_dir():
        raise ValidationError("file", "not_directory", f"{source} is a folder, not a backup.")
    if not source.is_file():
        raise ValidationError("file", "exists", f"Backup file {source} does not exist.")
    kind = _backup_kind(source)
    if kind != engine.dialect.name:
        described = f"a {kind}" if kind else "an unrecognised"
        raise ValidationError(
            "file",
            "format",
            f"{source} is {described} backup, but the database is "
            f"{engine.dialect.name}; restore it into a database of the same kind.",
        )
    engine.dispose()
    if kind == "sqlite":
        _sqlite_restore(engine, source)
    else:
        _psql_restore(engine.url, source)
    engine.dispose()


def _backup_kind(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(64)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    return None


def _sqlite_path(url: URL) -> str:
    if not url.database or url.database == ":memory:":
        raise RefusedError("An in-memory SQLite database has nothing to back up or restore into.")
    return url.database


def _sqlite_backup(engine: Engine, target: Path) -> None:
    try:
        with (
            closing(sqlite3.connect(_sqlite_path(engine.url))) as source,
            closing(sqlite3.connect(target)) as destination,
        ):
            source.backup(destination)
    except sqlite3.Error as exc:
        raise ExternalToolError(f"SQLite could not write {target}: {exc}.", tool="sqlite") from exc


def _sqlite_restore(engine: Engine, source: Path) -> None:
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as backup_db:
            tables = {row[0] for row in backup_db.execute("SELECT name FROM sqlite_master")}
            if "alembic_version" not in tables:
                raise ValidationError(
                    "file", "format", f"{source} is an SQLite file but not a backup of ours."
                )
            with closing(sqlite3.connect(_sqlite_path(engine.url))) as live:
                backup_db.backup(live)
    except sqlite3.Error as exc:
        raise ExternalToolError(
            f"SQLite could not restore {source}: {exc}.", tool="sqlite"
        ) from exc


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, which goes through the environment instead so it
    never shows in a process listing."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run(tool: str, args: list[str], env: dict[str, str]) -> None:
    executable = shutil.which(tool)
    if executable is None:
        raise ExternalToolError(f"`{tool}` was not found on PATH. {INSTALL_HINT}", tool=tool)
    result = subprocess.run(  # noqa: S603 - fixed executable, arguments are not shell-parsed
        [executable, *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ExternalToolError(
            f"`{tool}` failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}",
            tool=tool,
            exit_code=result.returncode,
        )


def _pg_dump(url: URL, target: Path) -> None:
    uri, env = _libpq(url)
    _run(
        "pg_dump",
        ["--format=plain", "--clean", "--if-exists", "--no-owner", "--no-privileges",
         f"--file={target}", f"--dbname={uri}"],
        env,
    )  # fmt: skip


def _psql_restore(url: URL, source: Path) -> None:
    uri, env = _libpq(url)
    _run(
        "psql",
        ["--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
         f"--file={source}", f"--dbname={uri}"],
        env,
    )  # fmt: skip
