"""The container targets on a machine without a Docker engine (this one, and CI): a clear
message and a checked artifact, whose contents are opened and checked again here."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.models import Project
from appbuilder.db.session import make_session_factory
from appbuilder.enums import DeploymentStatus, ProjectStatus, ProjectTemplate, SubscriptionTier
from appbuilder.errors import DeployFailed, QuotaExceededError
from appbuilder.services import deployments
from appbuilder.services.deployments import manifests
from appbuilder.services.deployments.targets.docker import engine_status
from tests.deploying import completed_run
from tests.factories import make_project, make_user


@pytest.fixture
def ctx(engine: Engine, tmp_path: Path) -> deployments.DeployContext:
    return deployments.DeployContext(
        make_session_factory(engine), tmp_path / "projects", tmp_path / "deployments"
    )


def _built_project(
    sessions: sessionmaker[Session], projects: Path, tier: SubscriptionTier
) -> tuple[str, str]:
    with sessions.begin() as session:
        user = make_user(session, subscription_tier=tier)
        project = make_project(session, user, template=ProjectTemplate.BLOG, name="Shipped blog")
        ids = user.id, project.id
    completed_run(sessions, projects, *ids)
    return ids


def _zip(path: Path) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            yield name, archive.read(name)


def test_docker_without_an_engine_offers_a_checked_artifact(
    ctx: deployments.DeployContext,
) -> None:
    user_id, project_id = _built_project(
        ctx.sessions, ctx.projects_dir, SubscriptionTier.ENTERPRISE
    )
    found = deployments.deploy_now(ctx, user_id, project_id, "docker")
    assert found.status is DeploymentStatus.SUCCEEDED, found.log
    assert found.url == f"/api/deployments/{found.id}/artifact"
    reason = engine_status()
    assert reason is not None  # no engine here: the docker client answers without a daemon
    assert f"{reason}: download the checked artifact" in found.log
    with ctx.sessions() as session:  # an artifact is not a running app
        assert session.get_one(Project, project_id).status is ProjectStatus.READY

    files = dict(_zip(ctx.artifact_path(found)))
    root = "shipped-blog/"
    for needed in (
        "Dockerfile",
        "compose.yaml",
        "requirements.lock",
        "app/main.py",
        "migrations/env.py",
        "k8s/app.yaml",
        "k8s/migrate-job.yaml",
        "DEPLOY.md",
    ):
        assert root + needed in files, needed
    compose = yaml.safe_load(files[root + "compose.yaml"])
    assert compose["services"]["db"]["image"] == "postgres:16"
    assert compose["services"]["migrate"]["command"] == ["alembic", "upgrade", "head"]
    web = compose["services"]["web"]
    assert web["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert web["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://app:")

    documents = [
        *yaml.safe_load_all(files[root + "k8s/migrate-job.yaml"]),
        *yaml.safe_load_all(files[root + "k8s/app.yaml"]),
    ]
    assert [d["kind"] for d in documents] == ["Job", "Deployment", "Service"]
    assert manifests.check_kubernetes(documents) == manifests.KUBERNETES_VERSION
    container = documents[1]["spec"]["template"]["spec"]["containers"][0]
    secret_refs = {
        e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e
    }
    assert secret_refs == {"shipped-blog-settings"}  # referenced, never shipped
    assert "kind: Secret" not in files[root + "k8s/app.yaml"].decode()  # no secret shipped

    only_manifests = deployments.deploy_now(ctx, user_id, project_id, "kubernetes")
    names = {name for name, _ in _zip(ctx.artifact_path(only_manifests))}
    assert names == {root + "DEPLOY.md", root + "k8s/app.yaml", root + "k8s/migrate-job.yaml"}


def test_a_manifest_off_the_kubernetes_schema_is_refused() -> None:
    documents = manifests.kubernetes("shop", "shop:1")
    documents[1]["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    with pytest.raises(DeployFailed, match="Deployment manifest refused by the Kubernetes"):
        manifests.check_kubernetes(documents)
    documents = manifests.kubernetes("shop", "shop:1")
    documents[2]["spec"]["portz"] = []
    with pytest.raises(DeployFailed, match="Service manifest refused"):
        manifests.check_kubernetes(documents)


def test_a_target_outside_the_tier_names_the_tier_that_allows_it(
    ctx: deployments.DeployContext,
) -> None:
    user_id, project_id = _built_project(ctx.sessions, ctx.projects_dir, SubscriptionTier.FREE)
    with pytest.raises(QuotaExceededError) as refused:
        deployments.deploy_now(ctx, user_id, project_id, "docker")
    assert refused.value.details["upgrade_to"] == "STARTER"
    assert refused.value.details["limit"] == "deploy_targets"
