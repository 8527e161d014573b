"""Reading deployments: always through the project's owner (admins pass ``owner_id=None``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appbuilder.db.models import Deployment, GenerationRun, Project
from appbuilder.enums import DeploymentStatus
from appbuilder.errors import ConflictError, NotFoundError
from appbuilder.services.history import get_deployment, list_project_deployments
from appbuilder.services.project_files import find_completed_run

__all__ = [
    "LIVE_STATUSES",
    "get_deployment",
    "list_project_deployments",
    "live_count",
    "live_of_project",
    "verified_run",
]

#: a process that is, or is about to be, running
LIVE_STATUSES = (DeploymentStatus.IN_PROGRESS, DeploymentStatus.SUCCEEDED)


def live_count(session: Session, user_id: str, *, except_project: str) -> int:
    """The user's running local deployments, but for ``except_project``'s (a redeploy
    replaces its own)."""
    count = session.scalar(
        select(func.count())
        .select_from(Deployment)
        .join(Project, Deployment.project_id == Project.id)
        .where(
            Project.user_id == user_id,
            Project.id != except_project,
            Deployment.target == "local",
            Deployment.status.in_(LIVE_STATUSES),
        )
    )
    return count or 0


def live_of_project(session: Session, project_id: str) -> list[Deployment]:
    """The project's running local deployments (one, or two for a moment during a redeploy)."""
    return list(
        session.scalars(
            select(Deployment)
            .where(
                Deployment.project_id == project_id,
                Deployment.target == "local",
                Deployment.status == DeploymentStatus.SUCCEEDED,
            )
            .order_by(Deployment.created_at.desc(), Deployment.id.desc())
        )
    )


def verified_run(session: Session, project: Project, run_id: str | None) -> GenerationRun:
    """The run to deploy: the given one or the latest, completed with its gate passed.

    Only a run whose app passed the verification gate deploys: an unverified app is
    unproven, and a deployment is where users start to rely on it.
    """
    run = find_completed_run(session, project.id, run_id)
    if run is None:
        if run_id is not None:
            raise NotFoundError("Completed run", run_id)
        raise ConflictError(
            f"Project {project.id!r} has no completed run to deploy: generate it first.",
            field="run_id",
            rule="completed",
        )
    if not run.verify:
        raise ConflictError(
            f"Run {run.id!r} was built without the verification gate (--no-verify): only a "
            "verified app deploys. Generate it again with verification.",
            run_id=run.id,
            rule="verified",
        )
    return run
