"""`uab deploy`, `uab deployments` and `uab logs` as an operator runs them: the console
script in a real subprocess against a real database, a project built for real (its history
in git), deployed to the docker target (a checked artifact: no engine is needed, so the
command's whole path runs here in seconds; the local target's process is tested in
tests/integration/deploy and through the API and the browser)."""

from __future__ import annotations

import zipfile

from sqlalchemy import Engine, select

from appbuilder.db.models import Deployment
from appbuilder.db.session import make_session_factory
from appbuilder.enums import DeploymentStatus, SubscriptionTier
from appbuilder.services.deployments import DeployContext
from appbuilder.settings import get_settings
from tests.deploying import completed_run
from tests.factories import make_project, make_user
from tests.integration.test_cli import ok, uab


def test_deploy_list_logs_and_every_refusal_from_the_terminal(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        owner = make_user(session, subscription_tier=SubscriptionTier.PRO)
        project = make_project(session, owner)
        free = make_user(session, subscription_tier=SubscriptionTier.FREE)
        free_project = make_project(session, free)
        owner_id, project_id = owner.id, project.id
        free_id, free_project_id = free.id, free_project.id

    assert "No deployments yet" in ok("deployments", "list", project_id)
    nothing = uab("deploy", project_id, "--target", "docker")
    assert nothing.returncode == 1
    assert "has no completed run to deploy: generate it first" in nothing.stderr

    projects_dir = get_settings().projects_dir
    completed_run(sessions, projects_dir, owner_id, project_id)
    moon = uab("deploy", project_id, "--target", "moon")
    assert moon.returncode == 1
    assert "Unknown target 'moon'" in moon.stderr

    deployed = ok("deploy", project_id, "--target", "docker")
    assert "docker: SUCCEEDED" in deployed
    with sessions() as session:
        row = session.scalars(select(Deployment).where(Deployment.project_id == project_id)).one()
        assert row.status is DeploymentStatus.SUCCEEDED
        deployment_id = row.id
    listed = ok("deployments", "list", project_id)
    assert deployment_id in listed
    assert "SUCCEEDED" in listed
    log = ok("logs", deployment_id, "--lines", "50")
    assert "[deploy]" in log
    # an artifact is finished: following its log prints the same and ends
    assert ok("logs", deployment_id, "--lines", "50", "--follow") == log
    settings = get_settings()
    ctx = DeployContext(sessions, settings.projects_dir, settings.deployments_dir)
    with (
        sessions() as session,
        zipfile.ZipFile(ctx.artifact_path(session.get_one(Deployment, deployment_id))) as archive,
    ):
        names = archive.namelist()
    assert any(name.endswith("Dockerfile") for name in names), names

    unknown = uab("logs", "no-such-deployment")
    assert unknown.returncode == 1
    assert "not found" in unknown.stderr.lower()

    # FREE deploys locally only: the refusal names the plan that allows docker
    completed_run(sessions, projects_dir, free_id, free_project_id)
    over = uab("deploy", free_project_id, "--target", "docker")
    assert over.returncode == 1
    assert "Upgrade to STARTER" in over.stderr
    with sessions() as session:
        refused_rows = session.scalars(
            select(Deployment).where(Deployment.project_id == free_project_id)
        ).all()
    assert refused_rows == []  # a refusal records nothing
