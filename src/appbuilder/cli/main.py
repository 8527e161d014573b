"""Entry point of the ``uab`` console script."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from alembic.util import CommandError
from sqlalchemy.exc import DBAPIError

from appbuilder import __version__
from appbuilder.cli import billing, db, llm, repository, runs, spec
from appbuilder.cli._runtime import report_error
from appbuilder.cli.generate import generate
from appbuilder.cli.serve import serve
from appbuilder.cli.worker import worker
from appbuilder.errors import AppBuilderError

app = typer.Typer(
    name="uab",
    help="Ultimate App Builder: describe an app; agents build it, prove it, ship it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(spec.app, name="spec")
app.add_typer(runs.app, name="runs")
app.add_typer(llm.app, name="llm")
app.add_typer(billing.app, name="billing")
app.add_typer(repository.app, name="repo")
app.command()(repository.rollback)
app.command()(llm.plan)
app.command()(serve)
app.command()(generate)
app.command()(worker)
app.command()(spec.templates)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"uab {__version__}")
        raise typer.Exit


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Ultimate App Builder."""


def run() -> None:
    """Console-script entry: expected errors print one clear line and exit 1, no traceback."""
    try:
        app(standalone_mode=True)
    except AppBuilderError as error:
        report_error(error)
        sys.exit(1)
    except DBAPIError as error:
        first_line = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        report_error(AppBuilderError(f"Database error: {first_line}"))
        sys.exit(1)
    except CommandError as error:  # alembic: unknown revision, and the like
        report_error(AppBuilderError(f"Migration error: {error}"))
        sys.exit(1)
    except OSError as error:
        report_error(AppBuilderError(_os_error_message(error)))
        sys.exit(1)


def _os_error_message(error: OSError) -> str:
    """The system's reason with every path it names; never a dangling "…:"."""
    reason = error.strerror or str(error) or type(error).__name__
    paths = [str(p) for p in (error.filename, error.filename2) if p is not None]
    return f"{reason}: {' -> '.join(paths)}" if paths else f"{reason} (no path given)"
