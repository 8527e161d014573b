"""``uab repo`` and ``uab rollback``: a project's git remote and its earlier versions, from
the terminal (as the operator: any project).

A token is never an argument (arguments show in ``ps`` and shell history): it is read from
an environment variable you name, or from standard input.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.markup import escape

from appbuilder.cli._runtime import console, err_console, open_database
from appbuilder.errors import ValidationError
from appbuilder.services import projects, repository
from appbuilder.services.repository_git import shown_url

app = typer.Typer(help="A project's git remote: set it, push to it.", no_args_is_help=True)

ProjectId = Annotated[str, typer.Argument(help="The project's id.")]


def _token(env_name: str | None, from_stdin: bool) -> str | None:
    if env_name and from_stdin:
        raise ValidationError("token", "one_source", "Use --token-env or --token-stdin, not both.")
    if from_stdin:
        return sys.stdin.readline().strip() or None
    if env_name:
        value = os.environ.get(env_name)
        if not value:
            raise ValidationError("token", "missing", f"The variable {env_name} is not set.")
        return value
    return None


@app.command("set")
def set_remote(
    project_id: ProjectId,
    url: Annotated[str, typer.Argument(help="https://, ssh://, user@host:path or file://.")],
    token_env: Annotated[
        str | None,
        typer.Option("--token-env", help="Read the https token from this environment variable."),
    ] = None,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the https token from standard input.")
    ] = False,
) -> None:
    """Push every completed run of the project to URL from now on."""
    token = _token(token_env, token_stdin)
    with open_database() as db, db.sessions.begin() as session:
        project = repository.set_remote(
            session,
            project_id,
            owner_id=None,
            url=url,
            token=token,
            policy=repository.remote_policy(db.settings),
        )
        kept = " with a token (stored encrypted)" if project.repository_token else ""
        console.print(f"Project {project_id} pushes to {escape(shown_url(url))}{kept}.")


@app.command("unset")
def unset_remote(project_id: ProjectId) -> None:
    """Stop pushing the project anywhere (its token is deleted)."""
    with open_database() as db, db.sessions.begin() as session:
        repository.set_remote(
            session,
            project_id,
            owner_id=None,
            url=None,
            token=None,
            policy=repository.remote_policy(db.settings),
        )
    console.print(f"Project {project_id} has no remote now.")


@app.command()
def show(project_id: ProjectId) -> None:
    """The project's remote and how its last push went."""
    with open_database() as db, db.sessions() as session:
        project = projects.get_project(session, project_id, owner_id=None)
        if project.repository_url is None:
            console.print(f"Project {project_id} has no remote (`uab repo set`).")
            return
        token = " (with a token)" if project.repository_token else ""
        console.print(f"Remote: {escape(shown_url(project.repository_url))}{token}")
        pushed = project.repository_pushed_sha
        console.print(f"Last pushed: {pushed[:12] if pushed else 'nothing yet'}")
        if project.repository_error:
            err_console.print(f"[red]Last push failed:[/] {escape(project.repository_error)}")


@app.command()
def push(
    project_id: ProjectId,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace the remote's branch even if it has other commits."),
    ] = False,
) -> None:
    """Push the project's history now."""
    with open_database() as db, db.sessions() as session:
        done = repository.push_project(
            session,
            db.sessions,
            repository.places(db.settings),
            project_id,
            owner_id=None,
            force=force,
        )
    console.print(f"Pushed {done.sha[:12]} to {escape(done.url)}.")


def rollback(
    project_id: ProjectId,
    run_id: Annotated[str, typer.Argument(help="The completed run whose files come back.")],
) -> None:
    """Make an earlier completed run's files the project's current version (a new commit;
    the history is kept), and push it if the project has a remote."""
    with open_database() as db, db.sessions() as session:
        done = repository.rollback(
            session,
            db.sessions,
            repository.places(db.settings),
            project_id,
            run_id,
            owner_id=None,
        )
    sha = done.run.commit_sha or ""
    console.print(f"Rolled back to run {run_id}: run {done.run.id}, commit {sha[:12]}.")
    if done.push is not None:
        console.print(escape(done.push))
    if done.running is not None:
        console.print(
            f"The running app (deployment {done.running}) is still on the previous version: "
            f"`uab deployments start {done.running} --latest` redeploys it."
        )
