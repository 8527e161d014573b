"""``uab runs``: follow or cancel a generation run from the terminal (as its owner)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.cli._runtime import console, err_console, open_database
from appbuilder.cli.follow import follow as follow_run
from appbuilder.jobs import setup
from appbuilder.services import runs as run_service
from appbuilder.settings import Settings

app = typer.Typer(help="Follow or cancel generation runs.", no_args_is_help=True)

RunId = Annotated[str, typer.Argument(help="The run's id (from POST /generate or -p).")]


def warn_without_workers(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """On PostgreSQL nothing runs a queued run unless a `uab worker` is alive: say so."""
    if not settings.uses_procrastinate:
        return
    with sessions() as session:
        alive = session.execute(
            text(
                "SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - make_interval(secs => :secs)"
            ),
            {"secs": settings.run_lease_seconds},
        ).scalar_one()
    if not alive:
        err_console.print(
            "[yellow]No worker is running:[/] the run waits until one starts "
            "(`uab worker`, on this or another machine)."
        )


def follow_until_end(settings: Settings, sessions: sessionmaker[Session], run_id: str) -> str:
    """Print the run's events until it ends; Ctrl-C stops watching, not the run."""
    try:
        return follow_run(sessions, run_id)
    except KeyboardInterrupt:
        err_console.print(
            f"Stopped watching. The run goes on ({_where(settings)}); watch it again with "
            f"`uab runs follow {run_id}` or stop it with `uab runs cancel {run_id}`."
        )
        raise typer.Exit(130) from None


def _where(settings: Settings) -> str:
    return (
        "under `uab worker`" if settings.uses_procrastinate else "under `uab serve` or `uab worker`"
    )


@app.command()
def follow(run_id: RunId) -> None:
    """Print a run's progress (everything so far, then live) until it ends."""
    with open_database() as db:
        with db.sessions() as session:
            run = run_service.get_run(session, run_id, owner_id=None)
            active = run.active
        if active:
            warn_without_workers(db.settings, db.sessions)
        status = follow_until_end(db.settings, db.sessions, run_id)
    if status != "COMPLETED":
        raise typer.Exit(1)


@app.command()
def cancel(run_id: RunId) -> None:
    """Stop a run: a queued one at once, a running one at its next step."""
    with open_database() as db:
        dispatcher = setup.dispatcher(db.settings, None)
        with db.sessions.begin() as session:
            run = run_service.cancel_run(session, dispatcher, run_id, owner_id=None)
            state = "cancelled" if not run.active else "asked to stop at its next step"
        console.print(f"Run {run_id} {state}.")
