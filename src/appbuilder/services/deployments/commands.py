"""Deploying, stopping, starting and redeploying: the Deployment rows and the project's
status, for every target alike.

A deployment happens in three steps, so no transaction stays open while packages install
or an app starts: ``request`` records the attempt (IN_PROGRESS; the project DEPLOYING for
a target that runs the app) in the caller's transaction; ``carry_out`` runs the target;
``_record`` writes what came of it in a transaction of its own. Then the project is
DEPLOYED (the new version is live, and the one it replaces was stopped after it passed its
health check) or ERROR (nothing of it is running; the deployment's log says why).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.models import Deployment, GenerationRun, Project, User
from appbuilder.db.types import utcnow
from appbuilder.enums import DeploymentStatus, ProjectStatus
from appbuilder.errors import ConflictError, DeployFailed, NotFoundError, ValidationError
from appbuilder.generator.history import ProjectHistory
from appbuilder.services import quotas
from appbuilder.services.after_commit import after_commit
from appbuilder.services.deployments import processes, queries
from appbuilder.services.deployments.logs import row_tail
from appbuilder.services.deployments.queries import runs_process
from appbuilder.services.deployments.targets import TARGETS, Outcome, Release, Target
from appbuilder.services.project_files import slug_of
from appbuilder.services.project_lifecycle import change_status
from appbuilder.services.projects import get_project, project_folder

log = logging.getLogger(__name__)
D = DeploymentStatus
#: how often the process carrying out a deployment touches its log (its heartbeat; the
#: supervisors fail one quiet for a minute)
BEAT_SECONDS = 10.0


@dataclass(frozen=True)
class DeployContext:
    """What deployments need from their process."""

    sessions: sessionmaker[Session]
    projects_dir: Path
    #: one folder per project: releases, data (kept across redeploys), logs, artifacts
    deployments_dir: Path
    targets: Mapping[str, Target] = field(
        default_factory=lambda: {name: cls() for name, cls in TARGETS.items()}
    )

    def home(self, project_id: str) -> Path:
        return self.deployments_dir / project_id

    def log_path(self, deployment: Deployment) -> Path:
        return self.home(deployment.project_id) / "logs" / f"{deployment.id}.log"

    def artifact_path(self, deployment: Deployment) -> Path:
        return self.home(deployment.project_id) / "artifacts" / f"{deployment.id}.zip"

    def artifact_file(self, deployment: Deployment) -> Path:
        """The built artifact to download; not found for a deployment that has none."""
        path = self.artifact_path(deployment)
        if not path.is_file():
            raise NotFoundError("Artifact of deployment", deployment.id)
        return path


def request(
    session: Session,
    ctx: DeployContext,
    user: User,
    project_id: str,
    target: str,
    *,
    run_id: str | None = None,
) -> Deployment:
    """Record a deployment of the project's latest verified run (or ``run_id``), within the
    tier's targets and live deployments; ``carry_out`` does it."""
    if target not in ctx.targets:
        raise ValidationError(
            "target",
            "one_of",
            f"Unknown target {target!r}; choose one of: {', '.join(ctx.targets)}.",
        )
    project = get_project(session, project_id, owner_id=user.id, for_update=True)
    quotas.ensure_deploy_target_allowed(user, target)
    if project.status in (ProjectStatus.GENERATING, ProjectStatus.DEPLOYING):
        raise ConflictError(
            f"Project {project.id!r} is {project.status.value}: deploy once that ends.",
            status=project.status.value,
        )
    run = queries.verified_run(session, project, run_id)
    if runs_process(target):
        quotas.ensure_live_deployment_allowed(
            session, user, quotas.live_apps(session, user.id, except_project=project.id)
        )
        change_status(project, ProjectStatus.DEPLOYING)
    deployment = Deployment(
        project_id=project.id,
        target=target,
        run_id=run.id,
        ref=run.commit_sha,
        status=D.IN_PROGRESS,
        log="",
    )
    session.add(deployment)
    session.flush()
    return deployment


def carry_out(ctx: DeployContext, deployment_id: str) -> Deployment:
    """Run the target for a requested deployment and record its outcome (never raises for
    the app's failures: they are the deployment's result)."""
    release, target = _release(ctx, deployment_id)
    release.log_path.parent.mkdir(parents=True, exist_ok=True)
    with release.log_path.open("a", encoding="utf-8") as output:
        output.write(f"[deploy] {target.name}: commit {release.commit[:12]}\n")
        output.flush()
        try:
            with heartbeat(release.log_path):
                outcome: Outcome | DeployFailed = target.deploy(release, output)
        except DeployFailed as failed:
            outcome = failed
        except Exception as error:  # the platform's fault: still the deployment's result
            log.exception("deployment %s failed", deployment_id)
            outcome = DeployFailed(
                f"The platform failed to deploy: {type(error).__name__}: {error}"
            )
        output.write(f"[deploy] {outcome.message}\n")
    return _record(ctx, deployment_id, outcome)


@contextmanager
def heartbeat(path: Path, every: float = BEAT_SECONDS) -> Iterator[None]:
    """Touch ``path`` every ``every`` seconds while the block runs: the sign, to every
    supervisor on the machine, that this deployment is still being carried out (a step
    such as an install can be quiet for minutes; a process that died stops touching it)."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(every):
            with contextlib.suppress(OSError):
                os.utime(path)

    beating = threading.Thread(target=beat, name="deploy-heartbeat", daemon=True)
    beating.start()
    try:
        yield
    finally:
        done.set()
        beating.join()


def _release(ctx: DeployContext, deployment_id: str) -> tuple[Release, Target]:
    with ctx.sessions() as session:
        deployment = session.get_one(Deployment, deployment_id)
        project = session.get_one(Project, deployment.project_id)
        live = queries.live_of_project(session, project.id)
        assert deployment.ref is not None  # noqa: S101 - set by request()
        release = Release(
            deployment_id=deployment.id,
            project_id=project.id,
            slug=slug_of(session, project, deployment.run_id),
            commit=deployment.ref,
            history=ProjectHistory(project_folder(ctx.projects_dir, project.id)),
            home=ctx.home(project.id),
            port=next((d.port for d in live if d.port), None) or _last_port(session, project.id),
            retire_live=lambda gone: _retire_live(ctx, deployment_id, gone),
            going_back=_going_back(session, deployment),
        )
        return release, ctx.targets[deployment.target]


def _going_back(session: Session, deployment: Deployment) -> bool:
    """True when a run newer than ``deployment``'s was deployed and started before: the
    app's database was migrated to that newer version's models."""
    newest = session.scalar(
        select(GenerationRun.created_at)
        .join(Deployment, Deployment.run_id == GenerationRun.id)
        .where(
            Deployment.project_id == deployment.project_id,
            Deployment.target == deployment.target,
            Deployment.started_at.is_not(None),
            Deployment.id != deployment.id,
        )
        .order_by(GenerationRun.created_at.desc())
        .limit(1)
    )
    this = session.get(GenerationRun, deployment.run_id) if deployment.run_id else None
    return newest is not None and this is not None and this.created_at < newest


def _retire_live(ctx: DeployContext, deployment_id: str, gone: str) -> None:
    """Stop the project's live versions before ``deployment_id`` migrates ``gone`` away
    from under them (their processes end after the commit, before this returns). Only the
    old Deployment rows are locked, as the supervisor locks a crashed one: no lock cycle.
    One still running after its stop (a failed SIGKILL) fails the deployment before the
    migration: two versions would otherwise serve one port, the old one answering errors."""
    with ctx.sessions.begin() as session:
        project_id = session.get_one(Deployment, deployment_id).project_id
        live = queries.live_of_project(session, project_id, for_update=True)
        old = [row for row in live if row.id != deployment_id]
        why = (
            f"Superseded by deployment {deployment_id}, stopped before its migration "
            f"removed {gone}."
        )
        for row in old:
            _end(session, row, why)
        stopped = [(row.pid, row.process_started) for row in old]
    if any(processes.is_running(pid, started) for pid, started in stopped):
        raise DeployFailed("The running version did not stop; nothing was migrated.")


def _last_port(session: Session, project_id: str) -> int | None:
    """A project keeps its port across stops and starts while it is free."""
    port = session.scalar(
        select(Deployment.port)
        .where(Deployment.project_id == project_id, Deployment.port.is_not(None))
        .order_by(Deployment.created_at.desc())
        .limit(1)
    )
    if port is None:
        return None
    return port if processes.port_is_free(port) else None


def _record(ctx: DeployContext, deployment_id: str, outcome: Outcome | DeployFailed) -> Deployment:
    with ctx.sessions.begin() as session:
        deployment = session.get_one(Deployment, deployment_id, with_for_update=True)
        project = session.get_one(Project, deployment.project_id, with_for_update=True)
        deployment.log = row_tail(ctx.log_path(deployment))
        if isinstance(outcome, DeployFailed):
            _failed(session, deployment, project)
        else:
            _succeeded(session, deployment, project, outcome)
        session.flush()
        session.expunge(deployment)
        return deployment


def _failed(session: Session, deployment: Deployment, project: Project) -> None:
    deployment.status = D.FAILED
    deployment.finished_at = utcnow()
    if runs_process(deployment.target):
        # the version it would have replaced is still serving: the project stays deployed
        still_live = queries.live_of_project(session, project.id)
        change_status(project, ProjectStatus.DEPLOYED if still_live else ProjectStatus.ERROR)
        if not still_live:  # e.g. the one it replaced was stopped before its migration
            project.deployment_url = None


def _succeeded(
    session: Session, deployment: Deployment, project: Project, outcome: Outcome
) -> None:
    deployment.status = D.SUCCEEDED
    deployment.started_at = utcnow()
    deployment.url = outcome.url
    deployment.pid, deployment.process_started = outcome.pid, outcome.process_started
    deployment.port, deployment.health_port = outcome.port, outcome.health_port
    if not runs_process(deployment.target):
        deployment.finished_at = deployment.started_at  # an artifact: done when built
        return
    for old in queries.live_of_project(session, project.id):
        if old.id != deployment.id:
            _end(session, old, f"Superseded by deployment {deployment.id}.")
    change_status(project, ProjectStatus.DEPLOYED)
    project.deployment_url = outcome.url


def _end(session: Session, deployment: Deployment, why: str) -> None:
    """CANCELLED first, the process stopped after the commit: the supervisor never takes
    a stop asked for for a crash."""
    deployment.status = D.CANCELLED
    deployment.finished_at = utcnow()
    deployment.log = f"{deployment.log}[deploy] {why}\n"[-8000:]
    pid, started = deployment.pid, deployment.process_started
    if pid is not None:
        after_commit(session, lambda: processes.stop(pid, started))


def stop(session: Session, deployment_id: str, *, owner_id: str | None) -> Deployment:
    """Stop a running deployment; its project goes back to READY (its data is kept)."""
    deployment = queries.get_deployment(session, deployment_id, owner_id=owner_id)
    if deployment.status is not D.SUCCEEDED or not runs_process(deployment.target):
        raise ConflictError(
            f"Deployment {deployment.id!r} is not running ({deployment.status.value}).",
            status=deployment.status.value,
        )
    project = get_project(session, deployment.project_id, owner_id=owner_id, for_update=True)
    _end(session, deployment, "Stopped by its owner.")
    if project.status is ProjectStatus.DEPLOYED:
        change_status(project, ProjectStatus.READY)
        project.deployment_url = None
    return deployment


def again(
    session: Session,
    ctx: DeployContext,
    user: User,
    deployment_id: str,
    *,
    latest: bool,
) -> Deployment:
    """Start a stopped or failed deployment's run again (``latest=False``) or redeploy the
    project's latest verified run to the same target (``latest=True``): a new attempt."""
    found = queries.get_deployment(session, deployment_id, owner_id=user.id)
    if not latest and found.run_id is None:
        raise ConflictError(f"Deployment {found.id!r} has no run left to start.")
    return request(
        session, ctx, user, found.project_id, found.target, run_id=None if latest else found.run_id
    )


def deploy_now(
    ctx: DeployContext, user_id: str, project_id: str, target: str, run_id: str | None = None
) -> Deployment:
    """Request and carry out in this process (the CLI): returns the recorded outcome."""
    with ctx.sessions.begin() as session:
        user = session.get_one(User, user_id)
        deployment_id = request(session, ctx, user, project_id, target, run_id=run_id).id
    return carry_out(ctx, deployment_id)
