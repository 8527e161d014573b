"""``uab runs``: list, follow or cancel generation runs from the terminal (as their owner)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.cli._runtime import console, err_console, open_database
from appbuilder.cli.follow import follow as follow_run
from appbuilder.jobs import setup
from appbuilder.services import runs as run_service
from appbuilder.services.runs.ledger import LedgerLine
from appbuilder.settings import Settings

app = typer.Typer(help="List, follow or cancel generation runs.", no_args_is_help=True)

RunId = Annotated[str, typer.Argument(help="The run's id (from POST /generate or -p).")]


def warn_without_workers(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """On PostgreSQL nothing runs a queued run unless a `uab worker` is alive: say so."""
    if run_service.workers_alive(settings, sessions) == 0:
        err_console.print(
            "[yellow]No worker is running:[/] the run waits until one starts "
            "(`uab worker`, on this or another machine)."
        )


def follow_until_end(settings: Settings, sessions: sessionmaker[Session], run_id: str) -> str:
    """Print the run's events until it ends; Ctrl-C stops watching, not the run."""
    try:
        return follow_run(sessions, run_id, settings)
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


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else "-"


@app.command("list")
def list_runs(
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project's runs.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500, help="How many.")] = 20,
) -> None:
    """The newest runs (of every project, or of one), newest first."""
    with open_database() as db, db.sessions() as session:
        found = run_service.list_runs(session, owner_id=None, project_id=project, limit=limit)
        if not found:
            console.print("No runs yet. Start one with `uab generate --project <id>`.")
            return
        table = Table("Run", "Status", "Project", "Created", "Finished", "Error")
        for row in found:
            run = row.run
            table.add_row(
                run.id,
                run.status.value,
                f"{escape(row.project_name)} ({run.project_id})",
                _when(run.created_at),
                _when(run.finished_at),
                escape((run.error_message or "")[:80]),
            )
        console.print(table)


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


@app.command()
def show(run_id: RunId) -> None:
    """A run: its status, its steps and its model calls' ledger (tokens, cost, time per agent)."""
    with open_database() as db, db.sessions() as session:
        found = run_service.get_run_detail(session, run_id, owner_id=None)
        run = found.run
        console.print(f"Run {run.id}: {run.status.value} (project {run.project_id})")
        if run.error_message:
            console.print(escape(run.error_message))
        steps = Table("Step", "Status", "ms", "Error")
        for step in found.steps:
            ms, error = str(step.duration_ms or 0), escape((step.error_message or "")[:80])
            steps.add_row(step.agent_type.value, step.status.value, ms, error)
        console.print(steps)
        if not found.ledger:
            console.print("No model calls.")
            return
        console.print(ledger_table(found.ledger))


def ledger_table(lines: list[LedgerLine]) -> Table:
    """Model calls per agent: how many, tokens in and out, cost, time."""
    ledger = Table("Agent", "Calls", "Tokens in", "Tokens out", "Cost (USD)", "ms")
    for line in lines:
        cost = "unknown" if line.cost_usd is None else f"{line.cost_usd:.6f}"
        ledger.add_row(
            line.agent.value,
            str(line.calls),
            str(line.input_tokens),
            str(line.output_tokens),
            cost,
            str(line.duration_ms),
        )
    return ledger
