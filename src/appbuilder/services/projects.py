"""Projects: the design document's "project with generations" query, pagination, deletion rules."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Row, bindparam, inspect, select, true
from sqlalchemy.orm import Session

from appbuilder.db.models import Generation, GenerationRun, Project, User
from appbuilder.db.reads import Read, Steps, run_steps
from appbuilder.enums import (
    ACTIVE_RUN_STATUSES,
    BUSY_PROJECT_STATUSES,
    ProjectStatus,
    ProjectTemplate,
)
from appbuilder.errors import ConflictError, NotFoundError, ValidationError
from appbuilder.rules import (
    MAX_DESCRIPTION_LENGTH,
    MAX_MODEL_NAME_LENGTH,
    MAX_PROJECT_NAME_LENGTH,
    MODEL_NAME,
    has_unstorable_text,
)
from appbuilder.services.after_commit import after_commit
from appbuilder.services.pagination import Page, PageRequest, SortKey, paged, to_page
from appbuilder.services.project_lifecycle import change_status, check_user_status
from appbuilder.services.quotas import ensure_can_create_project
from appbuilder.services.repository_store import store_folder
from appbuilder.spec.features import KNOWN_FEATURES

MAX_CONFIG_BYTES = 64 * 1024


@dataclass(frozen=True)
class OwnerSummary:
    """What a project page may show of its owner (the design document selects id, email, name)."""

    id: str
    email: str
    name: str | None


@dataclass(frozen=True)
class ProjectWithGenerations:
    project: Project
    owner: OwnerSummary
    generations: list[Generation]


#: What a project's readers see of it: every column but its repository token (encrypted, so
#: decrypted on every load) and the server's own bookkeeping (its folder, the last pushed
#: commit). Lists and detail pages read these as plain rows, not entities: building and
#: reading ORM objects was a large share of those requests' CPU (issue 16).
PROJECT_VIEW = (
    Project.id,
    Project.name,
    Project.description,
    Project.template,
    Project.status,
    Project.config,
    Project.features,
    Project.repository_url,
    Project.repository_error,
    Project.deployment_url,
    Project.llm_model,
    Project.user_id,
    Project.created_at,
    Project.updated_at,
    Project.deployed_at,
)
#: a generation's columns, all of them, read as a plain row
GENERATION_VIEW = tuple(column.class_attribute for column in inspect(Generation).column_attrs)
#: a row of ``PROJECT_VIEW`` (or ``GENERATION_VIEW``): its columns read as attributes
ViewRow = Row[Any]


def _owned_by(owner_id: str | None) -> ColumnElement[bool]:
    return true() if owner_id is None else Project.user_id == owner_id


def get_project(
    session: Session, project_id: str, *, owner_id: str | None, for_update: bool = False
) -> Project:
    """A project by id. ``owner_id=None`` is for admins only: callers must decide explicitly.
    ``for_update`` locks the row (PostgreSQL) until the transaction ends, so a status check
    and the change that depends on it cannot interleave with another request's.

    Another user's project is reported as not found, so ids do not leak.
    """
    query = select(Project).where(Project.id == project_id, _owned_by(owner_id))
    project = session.scalar(query.with_for_update() if for_update else query)
    if project is None:
        raise NotFoundError("Project", project_id)
    return project


_ANY_PROJECT = select(Project.id).where(Project.id == bindparam("project_id"))
_OWNED_PROJECT = _ANY_PROJECT.where(Project.user_id == bindparam("owner_id"))


def check_project_steps(project_id: str, *, owner_id: str | None) -> Steps[None]:
    """:func:`get_project`'s check as steps (``db.reads``): not found unless the project
    exists and, with ``owner_id``, is theirs."""
    if owner_id is None:
        rows = yield Read(_ANY_PROJECT, {"project_id": project_id})
    else:
        rows = yield Read(_OWNED_PROJECT, {"project_id": project_id, "owner_id": owner_id})
    if not rows:
        raise NotFoundError("Project", project_id)


def get_project_with_generations(
    session: Session, project_id: str, *, owner_id: str | None
) -> ProjectWithGenerations:
    """The design document's "project with generations": all of them, newest first, plus the owner's
    id, email and name. Two statements whatever the number of generations."""
    project, owner = _project_and_owner(session, project_id, owner_id)
    generations = session.scalars(
        select(Generation)
        .where(Generation.project_id == project_id)
        .order_by(Generation.created_at.desc(), Generation.id.desc())
    ).all()
    return ProjectWithGenerations(project=project, owner=owner, generations=list(generations))


def _project_and_owner(
    session: Session, project_id: str, owner_id: str | None
) -> tuple[Project, OwnerSummary]:
    """The project and only its owner's public fields, in one statement."""
    row = session.execute(
        select(Project, User.id, User.email, User.name)
        .join(User, Project.user_id == User.id)
        .where(Project.id == project_id, _owned_by(owner_id))
    ).one_or_none()
    if row is None:
        raise NotFoundError("Project", project_id)
    project, user_id, email, name = row
    return project, OwnerSummary(id=user_id, email=email, name=name)


PROJECT_SORTS = {
    "-created_at": SortKey(Project.created_at, Project.id, descending=True),
    "created_at": SortKey(Project.created_at, Project.id, descending=False),
    "-updated_at": SortKey(Project.updated_at, Project.id, descending=True),
    "updated_at": SortKey(Project.updated_at, Project.id, descending=False),
}
GENERATIONS_NEWEST_FIRST = SortKey(Generation.created_at, Generation.id, descending=True)


# A project page's statements, built once (building and keying a statement cost more CPU
# than executing it, issue 16): the project with its owner's public fields, anyone's (an
# admin's read) or the caller's own; its newest run; its generations (then paginated).
_ANY_PROJECT_PAGE = (
    select(*PROJECT_VIEW, User.email, User.name.label("owner_name"))
    .join(User, Project.user_id == User.id)
    .where(Project.id == bindparam("project_id"))
)
_OWNED_PROJECT_PAGE = _ANY_PROJECT_PAGE.where(Project.user_id == bindparam("owner_id"))
#: what a project page shows of its newest run (``RunOut``'s columns; not its spec)
RUN_VIEW = (
    GenerationRun.id,
    GenerationRun.project_id,
    GenerationRun.user_id,
    GenerationRun.status,
    GenerationRun.previous_status,
    GenerationRun.spec_hash,
    GenerationRun.verify,
    GenerationRun.cancel_requested,
    GenerationRun.attempts,
    GenerationRun.error_message,
    GenerationRun.platform_failure,
    GenerationRun.tree_hash,
    GenerationRun.commit_sha,
    GenerationRun.files_count,
    GenerationRun.rollback_of,
    GenerationRun.created_at,
    GenerationRun.started_at,
    GenerationRun.finished_at,
)
_LATEST_RUN = (
    select(*RUN_VIEW)
    .where(GenerationRun.project_id == bindparam("project_id"))
    .order_by(GenerationRun.created_at.desc(), GenerationRun.id.desc())
    .limit(1)
)
_GENERATIONS = select(*GENERATION_VIEW).where(Generation.project_id == bindparam("project_id"))
#: a user's projects (then paginated), with or without each filter, built once for the
#: same reason
_USER_PROJECTS = select(*PROJECT_VIEW).where(Project.user_id == bindparam("user_id"))
_BY_STATUS = Project.status == bindparam("status", type_=Project.status.type)
_BY_TEMPLATE = Project.template == bindparam("template", type_=Project.template.type)
_FILTERED_PROJECTS = {
    (False, False): _USER_PROJECTS,
    (True, False): _USER_PROJECTS.where(_BY_STATUS),
    (False, True): _USER_PROJECTS.where(_BY_TEMPLATE),
    (True, True): _USER_PROJECTS.where(_BY_STATUS, _BY_TEMPLATE),
}


@dataclass(frozen=True)
class ProjectWithGenerationPage:
    project: ViewRow
    owner: OwnerSummary
    generations: Page[ViewRow]
    #: a row of ``RUN_VIEW``
    latest_run: ViewRow | None = None


def get_project_with_generation_page(
    session: Session, project_id: str, page: PageRequest, *, owner_id: str | None
) -> ProjectWithGenerationPage:
    """Like get_project_with_generations, with the generations paginated (for the API), and
    the project, its newest run and its generations read as rows of their view columns."""
    return run_steps(session, project_page_steps(project_id, page, owner_id=owner_id))


def project_page_steps(
    project_id: str, page: PageRequest, *, owner_id: str | None
) -> Steps[ProjectWithGenerationPage]:
    """``get_project_with_generation_page`` as steps (``db.reads``): three statements."""
    if owner_id is None:
        rows = yield Read(_ANY_PROJECT_PAGE, {"project_id": project_id})
    else:
        values = {"project_id": project_id, "owner_id": owner_id}
        rows = yield Read(_OWNED_PROJECT_PAGE, values)
    if not rows:
        raise NotFoundError("Project", project_id)
    row = rows[0]
    latest = yield Read(_LATEST_RUN, {"project_id": project_id})
    generations = yield from _generation_page(project_id, page)
    return ProjectWithGenerationPage(
        project=row,
        owner=OwnerSummary(id=row.user_id, email=row.email, name=row.owner_name),
        generations=generations,
        latest_run=latest[0] if latest else None,
    )


def _generation_page(project_id: str, page: PageRequest) -> Steps[Page[ViewRow]]:
    statement, params = paged(_GENERATIONS, GENERATIONS_NEWEST_FIRST, page)
    rows = yield Read(statement, {"project_id": project_id, **params})
    return to_page(rows, page, GENERATIONS_NEWEST_FIRST)


def list_user_projects(
    session: Session,
    user_id: str,
    page: PageRequest,
    *,
    status: ProjectStatus | None = None,
    template: ProjectTemplate | None = None,
    sort: str = "-created_at",
) -> Page[ViewRow]:
    """A page of the user's projects (rows of ``PROJECT_VIEW``), optionally filtered, newest
    first by default."""
    steps = user_projects_steps(user_id, page, status=status, template=template, sort=sort)
    return run_steps(session, steps)


def user_projects_steps(
    user_id: str,
    page: PageRequest,
    *,
    status: ProjectStatus | None = None,
    template: ProjectTemplate | None = None,
    sort: str = "-created_at",
) -> Steps[Page[ViewRow]]:
    """``list_user_projects`` as steps (``db.reads``): one statement."""
    key = PROJECT_SORTS.get(sort)
    if key is None:
        raise ValidationError(
            "sort", "one_of", f"sort must be one of {', '.join(PROJECT_SORTS)}, got {sort!r}."
        )
    query = _FILTERED_PROJECTS[status is not None, template is not None]
    statement, params = paged(query, key, page)
    values: dict[str, Any] = {"user_id": user_id, **params}
    if status is not None:
        values["status"] = status
    if template is not None:
        values["template"] = template
    rows = yield Read(statement, values)
    return to_page(rows, page, key)


def list_project_generations(
    session: Session, project_id: str, page: PageRequest, *, owner_id: str | None
) -> Page[ViewRow]:
    """A page of a project's history (two statements: the project must exist, and be the
    owner's when ``owner_id`` is given, so a missing project is a 404, not an empty page)."""
    get_project(session, project_id, owner_id=owner_id)
    return run_steps(session, _generation_page(project_id, page))


def project_folder(projects_dir: Path, project_id: str) -> Path:
    """Where a project's history lives (a git repository under ``projects_dir``)."""
    # ids are generated by us (cuid2: lowercase letters and digits); checked anyway
    if not project_id.isalnum():
        raise ValueError(f"not a project id: {project_id!r}")
    return projects_dir / project_id


def delete_project(
    session: Session,
    project_id: str,
    *,
    owner_id: str | None,
    projects_dir: Path | None = None,
    store: str | None = None,
) -> None:
    """Delete a project with its generations and deployments; refused while work runs on it.
    With ``projects_dir``, its files go too, once the delete commits (a failed delete keeps
    both), and so does its repository in a project ``store`` on this file system (one on a
    git server is left to its operator). The user's own remote is never touched."""
    project = get_project(session, project_id, owner_id=owner_id, for_update=True)
    if project.status in BUSY_PROJECT_STATUSES:
        raise ConflictError(
            f"Project {project_id!r} is {project.status.value}; "
            "cancel the run or wait for it to finish before deleting it.",
            project_id=project_id,
            status=project.status.value,
        )
    session.delete(project)
    session.flush()
    if projects_dir is not None:
        folder = project_folder(projects_dir, project_id)
        after_commit(session, lambda: shutil.rmtree(folder, ignore_errors=True))
    shared = store_folder(store, project_id) if store else None
    if shared is not None:
        after_commit(session, lambda: shutil.rmtree(shared, ignore_errors=True))


def _clean_name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= MAX_PROJECT_NAME_LENGTH:
        raise ValidationError(
            "name",
            "length",
            f"name must be 1 to {MAX_PROJECT_NAME_LENGTH} characters (blanks trimmed).",
        )
    return cleaned


def clean_model_name(model: str | None) -> str | None:
    """A project's model: a name as providers spell them; blank means the default."""
    cleaned = (model or "").strip()
    if not cleaned:
        return None
    if len(cleaned) > MAX_MODEL_NAME_LENGTH or not MODEL_NAME.fullmatch(cleaned):
        raise ValidationError(
            "llm_model",
            "format",
            f"llm_model must be 1 to {MAX_MODEL_NAME_LENGTH} characters: letters, digits and "
            "._:/@+- (as the provider names it, e.g. gpt-4o-mini or llama3.1:8b), starting "
            "with a letter or digit.",
        )
    return cleaned


def _check_description(description: str | None) -> None:
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise ValidationError(
            "description", "max_length", f"description is over {MAX_DESCRIPTION_LENGTH} chars."
        )


def check_config(config: dict[str, Any]) -> None:
    """A project's config: a JSON object of at most MAX_CONFIG_BYTES, text both databases keep."""
    if not isinstance(config, dict):
        raise ValidationError("config", "type", "config must be a JSON object.")
    if has_unstorable_text(config):
        raise ValidationError(
            "config", "text", "config must not contain NUL characters or unpaired surrogates."
        )
    try:
        size = len(json.dumps(config, separators=(",", ":"), allow_nan=False).encode("utf-8"))
    except ValueError as exc:
        raise ValidationError(
            "config", "finite_numbers", "config numbers must be finite (no NaN or Infinity)."
        ) from exc
    if size > MAX_CONFIG_BYTES:
        raise ValidationError(
            "config",
            "max_bytes",
            f"config is {size} bytes as JSON; the limit is {MAX_CONFIG_BYTES}.",
        )


def _clean_features(features: list[str]) -> list[str]:
    unknown = sorted(set(features) - KNOWN_FEATURES)
    if unknown:
        raise ValidationError(
            "features",
            "known",
            f"unknown feature(s): {', '.join(unknown)}; "
            f"known: {', '.join(sorted(KNOWN_FEATURES))}.",
        )
    return sorted(set(features))


def create_project(
    session: Session,
    owner: User,
    *,
    name: str,
    template: ProjectTemplate,
    description: str | None = None,
    config: dict[str, Any] | None = None,
    features: list[str] | None = None,
    llm_model: str | None = None,
) -> Project:
    """A new DRAFT project, within the owner's tier quota."""
    cleaned = _clean_name(name)
    model = clean_model_name(llm_model)
    _check_description(description)
    check_config(config or {})
    clean_features = _clean_features(features or [])
    ensure_can_create_project(session, owner, template)
    project = Project(
        user_id=owner.id,
        name=cleaned,
        description=description,
        template=template,
        config=config or {},
        features=clean_features,
        llm_model=model,
    )
    session.add(project)
    session.flush()
    return project


@dataclass(frozen=True)
class ProjectChanges:
    """Fields to change; ``None`` leaves a field as it is (description may be cleared with "",
    and llm_model with "": back to the provider's default)."""

    name: str | None = None
    description: str | None = None
    config: dict[str, Any] | None = None
    features: list[str] | None = None
    status: ProjectStatus | None = None
    llm_model: str | None = None


def _check_manual_status(session: Session, project: Project, new: ProjectStatus) -> None:
    """Runs own GENERATING, READY and ERROR; while a run is active it owns the status too.
    Users record deployments done outside (DEPLOYING, DEPLOYED)."""
    if new is ProjectStatus.GENERATING:
        raise ConflictError(
            f"Start a generation with POST /api/projects/{project.id}/generate; "
            "a run moves the project to GENERATING and back.",
            status=project.status.value,
            requested=new.value,
        )
    active = session.scalar(
        select(GenerationRun.id).where(
            GenerationRun.project_id == project.id,
            GenerationRun.status.in_(ACTIVE_RUN_STATUSES),
        )
    )
    if active is not None:
        raise ConflictError(
            f"Run {active!r} owns this project's status until it ends; cancel it with "
            f"POST /api/runs/{active}/cancel.",
            status=project.status.value,
            requested=new.value,
            run_id=active,
        )
    check_user_status(project, new)


def update_project(
    session: Session, project_id: str, changes: ProjectChanges, *, owner_id: str
) -> Project:
    project = get_project(session, project_id, owner_id=owner_id, for_update=True)
    if changes.name is not None:
        project.name = _clean_name(changes.name)
    if changes.description is not None:
        _check_description(changes.description)
        project.description = changes.description or None
    if changes.config is not None:
        check_config(changes.config)
        project.config = changes.config
    if changes.features is not None:
        project.features = _clean_features(changes.features)
    if changes.llm_model is not None:
        project.llm_model = clean_model_name(changes.llm_model)
    if changes.status is not None and changes.status is not project.status:
        _check_manual_status(session, project, changes.status)
        change_status(project, changes.status)
    session.flush()
    return project
