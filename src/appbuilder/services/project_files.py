"""A project's generated files, read from its history (one commit per completed run).

Versions are named by run id (what users see), never by a raw path: the run must be the
project's and completed, and files are read from git objects, so nothing outside the
project's repository is reachable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from appbuilder.db.models import GenerationRun, Project
from appbuilder.db.reads import Read, Steps
from appbuilder.enums import RunStatus
from appbuilder.errors import NotFoundError
from appbuilder.generator.history import Blob, ProjectHistory, TreeEntry
from appbuilder.services.projects import check_project_steps, get_project, project_folder
from appbuilder.services.repository_store import has_commit, sync_from_store
from appbuilder.spec.names import slugify


@dataclass(frozen=True)
class Version:
    project: Project
    history: ProjectHistory
    commit: str
    run_id: str | None
    #: the app's slug as the run built it: the zip's name and its folder
    slug: str


#: a run that left files: completed, with its commit
LEFT_FILES = (GenerationRun.status == RunStatus.COMPLETED, GenerationRun.commit_sha.is_not(None))
#: the latest completed run first, the same on every database (ties by id; a run without
#: an end time, which a completed run always has, last)
NEWEST_FINISHED = (GenerationRun.finished_at.desc().nulls_last(), GenerationRun.id.desc())


def find_completed_run(
    session: Session, project_id: str, run_id: str | None
) -> GenerationRun | None:
    """The project's run ``run_id``, or its latest, if completed with a commit; else None."""
    query = select(GenerationRun).where(GenerationRun.project_id == project_id, *LEFT_FILES)
    if run_id is not None:
        query = query.where(GenerationRun.id == run_id)
    return session.scalar(query.order_by(*NEWEST_FINISHED).limit(1))


def _completed_run(session: Session, project_id: str, run_id: str | None) -> GenerationRun:
    run = find_completed_run(session, project_id, run_id)
    if run is None:
        if run_id is not None:
            raise NotFoundError("Completed run", run_id)
        raise NotFoundError("Completed run of project", project_id)
    return run


def version(
    session: Session,
    projects_dir: Path,
    project_id: str,
    run_id: str | None,
    *,
    owner_id: str | None,
    store: str | None = None,
) -> Version:
    """The project's files as a run left them (default: the latest completed run); with a
    project ``store``, a commit this machine lacks (another worker made it) is fetched."""
    project = get_project(session, project_id, owner_id=owner_id)
    run = _completed_run(session, project.id, run_id)
    history = ProjectHistory(project_folder(projects_dir, project.id))
    assert run.commit_sha is not None  # noqa: S101 - selected for it
    if store and not has_commit(history, run.commit_sha):
        sync_from_store(history, store, project.id)
    return Version(project, history, history.resolve(run.commit_sha), run.id, _slug(run, project))


def slug_of(session: Session, project: Project, run_id: str | None) -> str:
    """The app's slug as run ``run_id`` built it (the project id when unknown)."""
    run = session.get(GenerationRun, run_id) if run_id is not None else None
    return _slug(run, project) if run is not None else project.id


def _slug(run: GenerationRun, project: Project) -> str:
    """The slug the run's spec gave the app (its name's, unless set), else the project id."""
    spec = run.spec if isinstance(run.spec, dict) else {}
    given = spec.get("slug")
    name = spec.get("name")
    slug = given if isinstance(given, str) else slugify(name if isinstance(name, str) else "")
    return slug if slug and slug == slugify(slug) else project.id


def tree(found: Version) -> list[TreeEntry]:
    return found.history.tree(found.commit)


@dataclass(frozen=True)
class RecordedCommit:
    """The commit a completed run recorded, as the database has it (not yet looked up in
    git): what the file tree reads, with one git process in all."""

    project_id: str
    run_id: str
    commit: str


_COMPLETED = select(GenerationRun.id, GenerationRun.commit_sha).where(
    GenerationRun.project_id == bindparam("project_id"), *LEFT_FILES
)
_LATEST_COMPLETED = _COMPLETED.order_by(*NEWEST_FINISHED).limit(1)
_COMPLETED_RUN = _COMPLETED.where(GenerationRun.id == bindparam("run_id"))


def recorded_commit_steps(
    project_id: str, run_id: str | None, *, owner_id: str | None
) -> Steps[RecordedCommit]:
    """:func:`version`'s database part as steps (``db.reads``): the same rules and not-found
    answers, two statements, on the async pool on PostgreSQL."""
    yield from check_project_steps(project_id, owner_id=owner_id)
    if run_id is None:
        runs = yield Read(_LATEST_COMPLETED, {"project_id": project_id})
    else:
        runs = yield Read(_COMPLETED_RUN, {"project_id": project_id, "run_id": run_id})
    if not runs:
        if run_id is not None:
            raise NotFoundError("Completed run", run_id)
        raise NotFoundError("Completed run of project", project_id)
    return RecordedCommit(project_id, runs[0].id, runs[0].commit_sha)


def recorded_tree(
    projects_dir: Path, found: RecordedCommit, *, store: str | None = None
) -> list[TreeEntry]:
    """The files of a commit a run recorded: one git process (``ls-tree`` on the recorded
    id; :func:`version` first spends two resolving it, worth it where a missing commit
    must be caught before an answer starts streaming). With a project ``store``, a commit
    this machine lacks is fetched first, as :func:`version` does."""
    history = ProjectHistory(project_folder(projects_dir, found.project_id))
    if store and not has_commit(history, found.commit):
        sync_from_store(history, store, found.project_id)
    return history.tree(found.commit)


def read(found: Version, path: str, *, limit: int) -> Blob:
    return found.history.read(found.commit, path, limit=limit)


def archive(found: Version) -> Iterator[bytes]:
    return found.history.archive(found.commit, prefix=found.slug)


#: larger diffs are cut (a whole regenerated app is a few hundred KiB)
MAX_DIFF_BYTES = 4 * 1024 * 1024


def diff(old: Version, new: Version) -> str:
    return new.history.diff(old.commit, new.commit, limit=MAX_DIFF_BYTES)


#: completed runs offered when picking a version (the API takes any older one by id)
MAX_LISTED_VERSIONS = 50


def completed_runs(
    session: Session, project_id: str, *, owner_id: str | None
) -> tuple[Project, list[GenerationRun]]:
    """The project and its runs that left files, newest first: the versions a user may
    browse, compare and download (another user's project is not found)."""
    project = get_project(session, project_id, owner_id=owner_id)
    runs = session.scalars(
        select(GenerationRun)
        .where(GenerationRun.project_id == project.id, *LEFT_FILES)
        .order_by(GenerationRun.finished_at.desc(), GenerationRun.id.desc())
        .limit(MAX_LISTED_VERSIONS)
    ).all()
    return project, list(runs)
