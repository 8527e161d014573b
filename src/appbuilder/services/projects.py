"""Projects: the seed's "project with generations" query, pagination, and deletion rules."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from appbuilder.db.models import Generation, Project, User
from appbuilder.enums import BUSY_PROJECT_STATUSES
from appbuilder.errors import ConflictError, NotFoundError
from appbuilder.services.pagination import Page, PageRequest, newest_first, to_page


@dataclass(frozen=True)
class OwnerSummary:
    """Only what a project page may show of its owner (the seed selects id, email, name)."""

    id: str
    email: str
    name: str | None


@dataclass(frozen=True)
class ProjectWithGenerations:
    project: Project
    owner: OwnerSummary
    generations: list[Generation]


def _owned_by(owner_id: str | None) -> ColumnElement[bool]:
    return true() if owner_id is None else Project.user_id == owner_id


def get_project(session: Session, project_id: str, *, owner_id: str | None) -> Project:
    """A project by id. ``owner_id=None`` is for admins only: callers must decide explicitly.

    Another user's project is reported as not found, so ids do not leak.
    """
    project = session.scalar(select(Project).where(Project.id == project_id, _owned_by(owner_id)))
    if project is None:
        raise NotFoundError("Project", project_id)
    return project


def get_project_with_generations(
    session: Session, project_id: str, *, owner_id: str | None
) -> ProjectWithGenerations:
    """The seed's "project with generations": all of them, newest first, plus the owner's
    id, email and name. Two statements whatever the number of generations."""
    row = session.execute(
        select(Project, User.id, User.email, User.name)
        .join(User, Project.user_id == User.id)
        .where(Project.id == project_id, _owned_by(owner_id))
    ).one_or_none()
    if row is None:
        raise NotFoundError("Project", project_id)
    project, user_id, email, name = row
    generations = session.scalars(
        select(Generation)
        .where(Generation.project_id == project_id)
        .order_by(Generation.created_at.desc(), Generation.id.desc())
    ).all()
    return ProjectWithGenerations(
        project=project,
        owner=OwnerSummary(id=user_id, email=email, name=name),
        generations=list(generations),
    )


def list_user_projects(session: Session, user_id: str, page: PageRequest) -> Page[Project]:
    query = select(Project).where(Project.user_id == user_id)
    rows = session.scalars(newest_first(query, Project.created_at, Project.id, page)).all()
    return to_page(rows, page)


def list_project_generations(
    session: Session, project_id: str, page: PageRequest, *, owner_id: str | None
) -> Page[Generation]:
    """A page of a project's history; one statement, or two when scoped to an owner."""
    if owner_id is not None:
        get_project(session, project_id, owner_id=owner_id)
    query = select(Generation).where(Generation.project_id == project_id)
    rows = session.scalars(newest_first(query, Generation.created_at, Generation.id, page)).all()
    return to_page(rows, page)


def delete_project(session: Session, project_id: str, *, owner_id: str | None) -> None:
    """Delete a project with its generations and deployments; refused while work runs on it."""
    project = get_project(session, project_id, owner_id=owner_id)
    if project.status in BUSY_PROJECT_STATUSES:
        raise ConflictError(
            f"Project {project_id!r} is {project.status.value}; "
            "cancel the run or wait for it to finish before deleting it.",
            project_id=project_id,
            status=project.status.value,
        )
    session.delete(project)
    session.flush()
