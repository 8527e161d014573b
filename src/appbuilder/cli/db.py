"""``uab db``: migrations, seeding, reset, backup and restore of the platform database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from appbuilder.cli._runtime import Database, console, open_database
from appbuilder.db import backup as backups
from appbuilder.db import migrate
from appbuilder.db.session import transaction
from appbuilder.errors import RefusedError
from appbuilder.services import seed as seeding
from appbuilder.services.maintenance import reset_database
from appbuilder.services.summary import summarise
from appbuilder.settings import Environment, Settings

app = typer.Typer(help="Manage the platform database.", no_args_is_help=True)

ForceOption = Annotated[
    bool, typer.Option("--force", help="Allow this destructive command outside development.")
]
PasswordOption = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar="UAB_SEED_PASSWORD",
        help="Password for seeded users (default: a random one, shown once).",
    ),
]


def _guard(
    settings: Settings,
    action: str,
    force: bool,
    *,
    because: str = "this destroys data",
    allowed: frozenset[Environment] = frozenset({Environment.DEVELOPMENT}),
) -> None:
    """Refuse ``action`` outside the ``allowed`` environments unless ``--force`` was given."""
    if settings.env not in allowed and not force:
        raise RefusedError(
            f"Refusing to {action}: UAB_ENV is {settings.env.value!r}, and {because}. "
            "Re-run with --force if you really mean it.",
            env=settings.env.value,
        )


def _where(db: Database) -> str:
    return db.settings.database.url.render_as_string(hide_password=True)


@app.command()
def upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    with open_database() as db:
        before = migrate.current_revision(db.engine)
        migrate.upgrade(db.engine, revision)
        after = migrate.current_revision(db.engine)
    console.print(f"Database {_where(db)}: revision {before or 'empty'} -> {after}.")


@app.command()
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, or 'base' for empty.")],
    force: ForceOption = False,
) -> None:
    """Revert migrations down to REVISION."""
    with open_database() as db:
        _guard(db.settings, "downgrade the database", force)
        migrate.downgrade(db.engine, revision)
        console.print(f"Database {_where(db)}: now at {migrate.current_revision(db.engine)}.")


@app.command()
def revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the migration does.")],
) -> None:
    """Autogenerate a migration from the difference between the models and the database."""
    with open_database() as db:
        path = migrate.create_revision(db.engine, message)
    console.print(f"Wrote {path}; read it before committing.")


@app.command()
def current() -> None:
    """Show the database's revision and the latest one shipped."""
    with open_database() as db:
        console.print(f"Database {_where(db)}")
        console.print(f"  current: {migrate.current_revision(db.engine) or 'empty'}")
        console.print(f"  head:    {migrate.head_revision()}")


@app.command()
def seed(
    password: PasswordOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Allow seeding demo accounts in production.")
    ] = False,
) -> None:
    """Add demo users, projects, generations and deployments (safe to run again)."""
    with open_database() as db:
        _guard(
            db.settings,
            "seed demo accounts",
            force,
            because="they include admins with a known or printed password",
            allowed=frozenset({Environment.DEVELOPMENT, Environment.TEST}),
        )
        _require_current_schema(db)
        _seed(db, password)


def _require_current_schema(db: Database) -> None:
    current, head = migrate.current_revision(db.engine), migrate.head_revision()
    if current != head:
        raise RefusedError(
            f"Database {_where(db)} is at revision {current or 'empty'}, not {head}: "
            "run `uab db upgrade` first."
        )


def _seed(db: Database, password: str | None) -> None:
    with transaction(db.sessions) as session:
        report = seeding.seed(session, password)
    _print_seed_report(report)


def _print_seed_report(report: seeding.SeedReport) -> None:
    console.print(
        f"Seeded {len(report.users_created)} users, {report.projects_created} projects, "
        f"{report.generations_created} generations, {report.deployments_created} deployments, "
        f"{len(report.api_keys_created)} API keys."
    )
    for owner, full_key in report.api_keys_created:
        console.print(f"API key for {owner} (shown once): [bold]{full_key}[/]", highlight=False)
    if report.generated_password:
        console.print(
            f"Demo users ({', '.join(report.users_created)}) can log in with password "
            f"[bold]{report.generated_password}[/] (shown once).",
            highlight=False,
        )


@app.command()
def reset(
    force: ForceOption = False,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Leave the database empty.")] = False,
    password: PasswordOption = None,
) -> None:
    """Drop everything, migrate from scratch, and seed, all in one transaction."""
    with open_database() as db:
        _guard(db.settings, "reset the database", force)
        report = reset_database(db.engine, with_seed=not no_seed, password=password)
    console.print(f"Database {_where(db)} dropped and migrated to {migrate.head_revision()}.")
    if report is not None:
        _print_seed_report(report)


@app.command("backup")
def backup_command(
    file: Annotated[Path, typer.Argument(help="Where to write the backup.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Back up the whole database to FILE (pg_dump on PostgreSQL, a copy on SQLite)."""
    with open_database() as db:
        written = backups.backup(db.engine, file, overwrite=force)
    console.print(f"Backed up {_where(db)} to {written} ({written.stat().st_size:,} bytes).")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A backup written by `uab db backup`.")],
    force: ForceOption = False,
) -> None:
    """Replace the database's contents with the backup in FILE."""
    with open_database() as db:
        _guard(db.settings, "restore over the database", force)
        backups.restore(db.engine, file)
    console.print(f"Restored {_where(db)} from {file}.")


@app.command()
def status() -> None:
    """Summarise what the database holds."""
    with open_database() as db:
        revision_now = migrate.current_revision(db.engine)
        if revision_now is None:
            console.print(f"Database {_where(db)} is empty: run `uab db upgrade`.")
            raise typer.Exit(1)
        with transaction(db.sessions) as session:
            summary = summarise(session)
    console.print(f"Database {_where(db)} at revision {revision_now}")
    rows = Table("table", "rows", title="Rows per table")
    for table_name, count in summary.table_rows.items():
        rows.add_row(table_name, str(count))
    console.print(rows)
    for title, counts in (
        ("Users by tier", summary.users_by_tier),
        ("Users by role", summary.users_by_role),
        ("Projects by status", summary.projects_by_status),
        ("Projects by template", summary.projects_by_template),
        ("Generations by agent", summary.generations_by_agent),
    ):
        console.print(f"{title}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
