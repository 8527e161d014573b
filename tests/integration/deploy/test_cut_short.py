"""A deployment whose deploying process died (the server was killed mid-deploy) is FAILED
within a minute, not left IN_PROGRESS: the process carrying a deployment out touches its
log every few seconds, and every supervisor on the machine fails an IN_PROGRESS
deployment whose log has stopped moving."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from appbuilder.db.models import Deployment, Project
from appbuilder.db.session import make_session_factory
from appbuilder.db.types import utcnow
from appbuilder.enums import DeploymentStatus, ProjectStatus
from appbuilder.services import deployments
from appbuilder.services.deployments.commands import heartbeat
from appbuilder.services.deployments.supervisor import QUIET_AFTER
from tests.factories import make_project, make_user

D = DeploymentStatus


@pytest.fixture
def ctx(engine: Engine, tmp_path: Path) -> deployments.DeployContext:
    return deployments.DeployContext(
        make_session_factory(engine), tmp_path / "projects", tmp_path / "deployments"
    )


def deploying(ctx: deployments.DeployContext, age: timedelta, log_age: timedelta | None) -> str:
    """An IN_PROGRESS deployment requested ``age`` ago, on a DEPLOYING project, whose log
    last moved ``log_age`` ago (None: no log yet)."""
    with ctx.sessions.begin() as session:
        project = make_project(session, make_user(session), status=ProjectStatus.DEPLOYING)
        deployment = Deployment(
            project_id=project.id, status=D.IN_PROGRESS, target="local", ref="0" * 40
        )
        session.add(deployment)
        session.flush()
        deployment.created_at = utcnow() - age
        path = ctx.log_path(deployment)
    if log_age is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("[deploy] local: installing\n", encoding="utf-8")
        moved = time.time() - log_age.total_seconds()
        os.utime(path, (moved, moved))
    return deployment.id


def state(ctx: deployments.DeployContext, deployment_id: str) -> tuple[D, ProjectStatus, str]:
    with ctx.sessions() as session:
        deployment = session.get_one(Deployment, deployment_id)
        project = session.get_one(Project, deployment.project_id)
        return deployment.status, project.status, deployment.log


def test_a_deployment_nobody_carries_out_fails_within_a_minute(
    ctx: deployments.DeployContext,
) -> None:
    long_ago = QUIET_AFTER * 2
    orphan = deploying(ctx, long_ago, log_age=None)
    quiet = deploying(ctx, long_ago, log_age=long_ago)
    beating = deploying(ctx, long_ago, log_age=timedelta(seconds=1))  # another process's
    fresh = deploying(ctx, timedelta(seconds=5), log_age=None)  # not started yet

    assert deployments.Supervisor(ctx).check() == []
    for cut_short in (orphan, quiet):
        status, project, log = state(ctx, cut_short)
        assert (status, project) == (D.FAILED, ProjectStatus.ERROR)
        assert log.endswith("[supervisor] Cut short: the deploying process went away.\n")
    for alive in (beating, fresh):
        assert state(ctx, alive)[:2] == (D.IN_PROGRESS, ProjectStatus.DEPLOYING)


def test_the_process_carrying_a_deployment_out_keeps_its_heartbeat(
    ctx: deployments.DeployContext,
) -> None:
    """Its log quiet for two minutes (a long install), but its process alive: the heartbeat
    touches the log, so the supervisors (``uab serve --workers``) leave it alone; once
    the process is gone the log stops moving and it is cut short."""
    long_ago = QUIET_AFTER * 2
    busy = deploying(ctx, long_ago, log_age=long_ago)
    with ctx.sessions() as session:
        path = ctx.log_path(session.get_one(Deployment, busy))
    with heartbeat(path, every=0.05):
        time.sleep(0.3)
        assert path.stat().st_mtime > time.time() - 5
        assert deployments.Supervisor(ctx).check() == []
        assert state(ctx, busy)[0] is D.IN_PROGRESS
    os.utime(path, (time.time() - 120, time.time() - 120))  # its process then died
    assert deployments.Supervisor(ctx).check() == []
    assert state(ctx, busy)[:2] == (D.FAILED, ProjectStatus.ERROR)
