"""A project's git remote: set it, push to it (after every completed run, or on request),
and roll the project back to an earlier run's files.

Pushes talk to the network, so they never happen inside a database transaction: the
remote is read in one, git runs, and the outcome is recorded in another (the project's
``repository_*`` fields; a run's event log says it too). A remote that moved on is never
overwritten unless the user asks (``force``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.models import GenerationRun, Project
from appbuilder.db.types import new_id, utcnow
from appbuilder.enums import BUSY_PROJECT_STATUSES, ProjectStatus, RunStatus
from appbuilder.errors import (
    ConflictError,
    NotFoundError,
    PushFailedError,
    PushRejectedError,
    ValidationError,
)
from appbuilder.generator.history import ProjectHistory
from appbuilder.services.deployments.queries import live_of_project
from appbuilder.services.projects import get_project, project_folder
from appbuilder.services.repository_git import (
    Remote,
    RemotePolicy,
    check_remote,
    clean_token,
    clean_url,
)
from appbuilder.services.repository_store import push_to_store, sync_from_store
from appbuilder.services.runs import events
from appbuilder.settings import Environment, Settings


@dataclass(frozen=True)
class Places:
    """Where projects' histories live: this machine's copy, and the shared store (if any)."""

    projects_dir: Path
    store: str | None = None
    #: the operator's rules for remotes, checked again before each push (None: unchecked)
    remotes: RemotePolicy | None = None

    def history(self, project_id: str) -> ProjectHistory:
        """The project's local history, brought up to the store's first."""
        history = ProjectHistory(project_folder(self.projects_dir, project_id))
        if self.store:
            sync_from_store(history, self.store, project_id)
        return history

    def publish(self, history: ProjectHistory, project_id: str) -> None:
        """Share a new local commit through the store (nothing to do without one)."""
        if self.store:
            push_to_store(history, self.store, project_id)


def places(settings: Settings) -> Places:
    return Places(settings.projects_dir, settings.project_store or None, remote_policy(settings))


def remote_policy(settings: Settings) -> RemotePolicy:
    roots = tuple(
        Path(part.strip()).expanduser()
        for part in settings.repository_file_roots.split(",")
        if part.strip()
    )
    hosts = tuple(part.strip() for part in settings.repository_hosts.split(",") if part.strip())
    return RemotePolicy(
        file_roots=roots, production=settings.env is Environment.PRODUCTION, hosts=hosts
    )


def set_remote(
    session: Session,
    project_id: str,
    *,
    owner_id: str | None,
    url: str | None,
    token: str | None,
    policy: RemotePolicy,
) -> Project:
    """Point the project at a remote (None: none). The token is kept only with the URL it
    was given for: a new URL without one clears it, so a token never goes to a new host."""
    project = get_project(session, project_id, owner_id=owner_id, for_update=True)
    if url is None:
        if token is not None:
            raise ValidationError("token", "needs_url", "A token needs a repository_url.")
        project.repository_url = project.repository_token = None
    else:
        cleaned = clean_url(url, policy)
        given = clean_token(token, cleaned)
        if given is not None or cleaned != project.repository_url:
            project.repository_token = given
        project.repository_url = cleaned
    project.repository_pushed_sha = project.repository_pushed_at = None
    project.repository_error = None
    session.flush()
    return project


@dataclass(frozen=True)
class PushResult:
    sha: str
    url: str  # as shown (masked)


def push_project(
    session: Session,
    sessions: sessionmaker[Session],
    where: Places,
    project_id: str,
    *,
    owner_id: str | None,
    force: bool = False,
) -> PushResult:
    """Push the project's history now; the outcome is recorded whatever it is.
    PushRejectedError when the remote diverged (and ``force`` is not set).

    ``session`` is the caller's: its transaction ends here, before git talks to the
    network; the outcome is written in a short transaction of ``sessions``."""
    project = get_project(session, project_id, owner_id=owner_id)
    if project.repository_url is None:
        raise ConflictError(
            f"Project {project_id!r} has no repository_url: set one first.",
            project_id=project_id,
        )
    remote = Remote(project.repository_url, project.repository_token)
    session.commit()
    return _push(sessions, where, where.history(project_id), project_id, remote, force=force)


def push_after_run(sessions: sessionmaker[Session], where: Places, project_id: str) -> str | None:
    """After a run committed: push if the project has a remote. A line for the run's log
    (None: no remote); a refused push is recorded, never raised: the run's files stand."""
    with sessions() as session:
        project = session.get(Project, project_id)
        if project is None or project.repository_url is None:
            return None
        remote = Remote(project.repository_url, project.repository_token)
    history = ProjectHistory(project_folder(where.projects_dir, project_id))
    try:
        done = _push(sessions, where, history, project_id, remote, force=False)
    except (PushRejectedError, PushFailedError) as error:
        return f"Push failed: {error.message}"
    return f"Pushed {done.sha[:12]} to {done.url}."


def _push(
    sessions: sessionmaker[Session],
    where: Places,
    history: ProjectHistory,
    project_id: str,
    remote: Remote,
    *,
    force: bool,
) -> PushResult:
    if where.remotes is not None:
        try:
            check_remote(remote.url, where.remotes)
        except ValidationError as refused:
            message = f"Did not push to {remote.shown}: {refused.message}"
            _record(sessions, project_id, sha=None, error=message)
            raise PushFailedError(message) from None
    pushed = history.push(remote.url, force=force, extra_env=remote.git_env())
    if pushed.ok and pushed.sha is not None:
        _record(sessions, project_id, sha=pushed.sha, error=None)
        return PushResult(pushed.sha, remote.shown)
    error: PushRejectedError | PushFailedError
    if pushed.rejected:
        error = PushRejectedError(
            f"The remote {remote.shown} has commits this project's history lacks (it "
            "diverged), so the push was refused and nothing there was overwritten. Push "
            "again with force: true to replace the remote's branch with this project's.",
            project_id=project_id,
        )
    else:
        lines = [line for line in remote.mask(pushed.output).splitlines() if line.strip()]
        reason = lines[-1] if lines else "git push failed"
        error = PushFailedError(
            f"Could not push to {remote.shown}: {reason}. Check the URL, the token's "
            "rights and that the repository exists.",
        )
    _record(sessions, project_id, sha=None, error=error.message)
    raise error


def _record(
    sessions: sessionmaker[Session], project_id: str, *, sha: str | None, error: str | None
) -> None:
    with sessions.begin() as session:
        project = session.get(Project, project_id)
        if project is None:
            return  # deleted meanwhile: nothing to tell
        project.repository_error = error
        if sha is not None:
            project.repository_pushed_sha = sha
            project.repository_pushed_at = utcnow()


@dataclass(frozen=True)
class Rollback:
    run: GenerationRun
    #: the outcome of the push that followed (None: no remote)
    push: str | None
    #: the project's running app, still on the version before the rollback (None: none):
    #: a rollback changes the files, and a redeploy of this deployment runs them
    running: str | None = None


def rollback(
    session: Session,
    sessions: sessionmaker[Session],
    where: Places,
    project_id: str,
    run_id: str,
    *,
    owner_id: str | None,
) -> Rollback:
    """Make a completed run's files the current version again: a new commit with that
    run's tree on top of the history (nothing is lost), recorded as a run of its own
    (``rollback_of``) so the files, the runs list and deployments see it as the latest.
    Pushed to the project's remote, if it has one.

    ``session`` is the caller's: the rollback commits in it, before the push."""
    project = get_project(session, project_id, owner_id=owner_id, for_update=True)
    if project.status in BUSY_PROJECT_STATUSES:
        raise ConflictError(
            f"Project {project_id!r} is {project.status.value}; wait for it to finish "
            "before rolling back.",
            project_id=project_id,
            status=project.status.value,
        )
    target = _completed_run(session, project_id, run_id)
    history = where.history(project_id)
    now = utcnow()
    new = new_id()
    assert target.commit_sha is not None  # noqa: S101 - selected for it
    if history.tree_id(history.resolve(None)) == history.tree_id(target.commit_sha):
        raise ConflictError(
            f"Run {run_id!r}'s files are already the current version.", run_id=run_id
        )
    sha = history.restore(target.commit_sha, _message(project.name, new, target.id), when=now)
    where.publish(history, project_id)
    previous = project.status
    if project.status in (ProjectStatus.ERROR, ProjectStatus.DRAFT):
        project.status = ProjectStatus.READY  # its files are a completed run's again
    project.generated_path = str(history.path)
    run = _rollback_run(session, project, target, previous, (new, sha), now)
    # read before the commit: a read left open after it would hold SQLite's lock through
    # the push's own write of the outcome
    running = next((d.id for d in live_of_project(session, project_id)), None)
    session.commit()
    return Rollback(run, push_after_run(sessions, where, project_id), running)


def _completed_run(session: Session, project_id: str, run_id: str) -> GenerationRun:
    run = session.scalar(
        select(GenerationRun).where(
            GenerationRun.id == run_id,
            GenerationRun.project_id == project_id,
            GenerationRun.status == RunStatus.COMPLETED,
            GenerationRun.commit_sha.is_not(None),
        )
    )
    if run is None:
        raise NotFoundError("Completed run of this project", run_id)
    return run


def _rollback_run(  # noqa: PLR0917 - one private call site, every part named there
    session: Session,
    project: Project,
    target: GenerationRun,
    previous: ProjectStatus,
    made: tuple[str, str],
    now: datetime,
) -> GenerationRun:
    run_id, sha = made
    run = GenerationRun(
        id=run_id,
        project_id=project.id,
        user_id=project.user_id,
        status=RunStatus.COMPLETED,
        previous_status=previous,
        spec=target.spec,
        spec_hash=target.spec_hash,
        verify=target.verify,
        tree_hash=target.tree_hash,
        commit_sha=sha,
        files_count=target.files_count,
        rollback_of=target.id,
        created_at=now,
        started_at=now,
        finished_at=now,
    )
    session.add(run)
    session.flush()
    events.append(session, run_id, "log", line=f"Rolled back to run {target.id}'s files.")
    events.append(
        session,
        run_id,
        events.FINISHED,
        status=RunStatus.COMPLETED.value,
        project_status=project.status.value,
        commit=sha,
        tree_hash=target.tree_hash,
        files=target.files_count,
        rollback_of=target.id,
    )
    return run


def _message(project_name: str, run_id: str, target_id: str) -> str:
    return (
        f"Roll back {project_name} to run {target_id}\n\nRun: {run_id}\nRollback-of: {target_id}\n"
    )
