"""Single generations and deployments, always looked up through their project's owner."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from appbuilder.db.models import Deployment, Generation, Project
from appbuilder.errors import NotFoundError
from appbuilder.services.projects import get_project

MAX_DEPLOYMENTS_LISTED = 100


def get_generation(session: Session, generation_id: str, *, owner_id: str | None) -> Generation:
    query = select(Generation).where(Generation.id == generation_id)
    if owner_id is not None:
        query = query.where(Generation.user_id == owner_id)
    generation = session.scalar(query)
    if generation is None:
        raise NotFoundError("Generation", generation_id)
    return generation


def get_deployment(session: Session, deployment_id: str, *, owner_id: str | None) -> Deployment:
    query = select(Deployment).where(Deployment.id == deployment_id)
    if owner_id is not None:
        query = query.join(Project, Deployment.project_id == Project.id).where(
            Project.user_id == owner_id
        )
    deployment = session.scalar(query)
    if deployment is None:
        raise NotFoundError("Deployment", deployment_id)
    return deployment


def list_project_deployments(
    session: Session, project_id: str, *, owner_id: str | None
) -> list[Deployment]:
    """The latest deployments of a project, newest first."""
    get_project(session, project_id, owner_id=owner_id)
    return list(
        session.scalars(
            select(Deployment)
            .where(Deployment.project_id == project_id)
            .order_by(Deployment.created_at.desc(), Deployment.id.desc())
            .limit(MAX_DEPLOYMENTS_LISTED)
        ).all()
    )
