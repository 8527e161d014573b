"""``uab deploy``, ``uab deployments`` and ``uab logs``: deployments from the terminal, as
the project's owner (the command line has the database).

``uab deploy`` does the work in this process and returns when the app is healthy (or the
deployment failed); the app keeps running after the command ends, and ``uab serve``
watches it (and re-adopts it after a restart).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import anyio
import typer
from rich.markup import escape
from rich.table import Table

from appbuilder.cli._runtime import Database, console, err_console, open_database
from appbuilder.db.models import Deployment
from appbuilder.enums import DeploymentStatus
from appbuilder.services import deployments
from appbuilder.services.deployments import logs as deploy_logs
from appbuilder.services.runs import owner_of_project

app = typer.Typer(help="List, stop or start deployments.", no_args_is_help=True)
DeploymentId = Annotated[str, typer.Argument(help="The deployment's id (from `uab deployments`).")]


def _context(db: Database) -> deployments.DeployContext:
    return deployments.DeployContext(
        db.sessions, db.settings.projects_dir, db.settings.deployments_dir
    )


def _report(found: Deployment) -> None:
    if found.status is DeploymentStatus.SUCCEEDED:
        where = found.url or ""
        console.print(f"Deployment {found.id} {found.target}: [green]SUCCEEDED[/] {where}")
        last = found.log.strip().splitlines()[-1:] if found.log else []
        for line in last:
            console.print(escape(line))
        return
    err_console.print(f"Deployment {found.id} {found.target}: [red]{found.status.value}[/]")
    err_console.print(escape(found.log[-3000:]), highlight=False)
    raise typer.Exit(1)


def deploy(
    project: Annotated[str, typer.Argument(help="The project's id.")],
    target: Annotated[
        str, typer.Option("--target", "-t", help="local, docker or kubernetes.")
    ] = "local",
    run: Annotated[
        str | None, typer.Option("--run", help="A completed, verified run (default: the latest).")
    ] = None,
) -> None:
    """Deploy a project's verified app: run it here (local) or build a checked artifact."""
    with open_database() as db:
        with db.sessions() as session:
            user_id = owner_of_project(session, project).id
        console.print(f"Deploying project {project} to {target}…")
        _report(deployments.deploy_now(_context(db), user_id, project, target, run))


@app.command("list")
def list_deployments(
    project: Annotated[str, typer.Argument(help="The project's id.")],
) -> None:
    """A project's deployments, newest first."""
    with open_database() as db, db.sessions() as session:
        rows = deployments.list_project_deployments(session, project, owner_id=None)
        if not rows:
            console.print(f"No deployments yet. Deploy with `uab deploy {project}`.")
            return
        table = Table("Deployment", "Target", "Status", "URL", "Commit", "Created")
        for row in rows:
            table.add_row(
                row.id,
                row.target,
                row.status.value,
                row.url or "-",
                (row.ref or "")[:12],
                row.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            )
        console.print(table)


@app.command()
def stop(deployment: DeploymentId) -> None:
    """Stop a running app (its data is kept)."""
    with open_database() as db, db.sessions.begin() as session:
        deployments.stop(session, deployment, owner_id=None)
    console.print(f"Deployment {deployment} stopped.")


@app.command()
def start(
    deployment: DeploymentId,
    latest: Annotated[
        bool, typer.Option("--latest", help="The project's latest verified run (a redeploy).")
    ] = False,
) -> None:
    """Deploy a deployment's run again (or, with --latest, redeploy the newest)."""
    with open_database() as db:
        ctx = _context(db)
        with db.sessions.begin() as session:
            found = deployments.get_deployment(session, deployment, owner_id=None)
            user = owner_of_project(session, found.project_id)
            new_id = deployments.again(session, ctx, user, deployment, latest=latest).id
        _report(deployments.carry_out(ctx, new_id))


def logs(
    deployment: DeploymentId,
    lines: Annotated[int, typer.Option("--lines", "-n", min=1, max=5000)] = 200,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
) -> None:
    """A deployment's log: the platform's steps, then the app's output."""
    with open_database() as db:
        ctx = _context(db)
        with db.sessions() as session:
            found = deployments.get_deployment(session, deployment, owner_id=None)
            path = ctx.log_path(found)

        if not follow:
            console.out(deploy_logs.tail(path, lines), end="", highlight=False)
            return
        try:
            anyio.run(_print_followed, db, path, deployment, lines)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


async def _print_followed(db: Database, path: Path, deployment: str, lines: int) -> None:
    """The server's follow loop, without its gate: this process has the pool to itself."""
    async for chunk in deploy_logs.follow_deployment(db.sessions, path, deployment, lines):
        console.out(chunk, end="", highlight=False)
