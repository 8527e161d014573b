"""Reading deployments: always through the project's owner (admins pass ``owner_id=None``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from appbuilder.db.models import Deployment, GenerationRun, Project
from appbuilder.enums import DeploymentStatus
from appbuilder.errors import ConflictError, NotFoundError
from appbuilder.services.history import get_deployment, list_project_deployments
from appbuilder.services.project_files import find_completed_run

__all__ = [
    "get_deployment",
    "is_running",
    "list_project_deployments",
    "live_of_project",
    "runs_process",
    "verified_run",
]


def runs_process(target: str) -> bool:
    return target == "local"


def is_running(deployment: Deployment) -> bool:
    """Still writing its log: being carried out, or a local app's live process. A docker
    or kubernetes artifact is finished once it SUCCEEDED (it stays so)."""
    return deployment.status is DeploymentStatus.IN_PROGRESS or (
        deployment.status is DeploymentStatus.SUCCEEDED and runs_process(deployment.target)
    )


def live_of_project(
    session: Session, project_id: str, *, for_update: bool = False
) -> list[Deployment]:
    """The project's running local deployments (one, or two for a moment during a redeploy);
    ``for_update`` locks their rows (PostgreSQL) until the transaction ends."""
    query = (
        select(Deployment)
        .where(
            Deployment.project_id == project_id,
            Deployment.target == "local",
            Deployment.status == DeploymentStatus.SUCCEEDED,
        )
        .order_by(Deployment.created_at.desc(), Deployment.id.desc())
    )
    return list(session.scalars(query.with_for_update() if for_update else query))


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
