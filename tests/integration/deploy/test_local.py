"""The local target with real processes: the BLOG app deployed from its project's history,
used through its own API, redeployed with a changed spec under load, crashed, re-adopted
by a new supervisor, started again and stopped. Its data outlives every version.

One deployed app per database backend (installing and starting an app is the expensive
part), taken through the whole story by one test in steps, each leaving the app as the
next one expects: xdist may hand a module's tests to different workers, so the story is
not spread over several tests.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.models import Deployment, Project, User
from appbuilder.db.session import make_session_factory
from appbuilder.enums import DeploymentStatus, ProjectStatus, ProjectTemplate
from appbuilder.services import deployments
from appbuilder.services.deployments import processes
from tests.deploying import LoadLoop, completed_run, sign_up_and_in, stop_deployed_apps
from tests.factories import make_project, make_user
from tests.integration.conftest import BACKENDS, Backend, engine_for

D = DeploymentStatus
CHANGED_SPEC = {
    "name": "Deployed blog",
    "template": "BLOG",
    "entities": [{"name": "Author", "fields": [{"name": "nickname", "required": False}]}],
}


@dataclass
class Blog:
    sessions: sessionmaker[Session]
    ctx: deployments.DeployContext
    user_id: str
    project_id: str
    first: Deployment

    def project(self) -> Project:
        with self.sessions() as session:
            return session.get_one(Project, self.project_id)

    def row(self, deployment_id: str) -> Deployment:
        with self.sessions() as session:
            return session.get_one(Deployment, deployment_id)

    def live(self) -> Deployment:
        with self.sessions() as session:
            (found,) = deployments.live_of_project(session, self.project_id)
            return found


@pytest.fixture
def blog(deployed_blog: tuple[str, Blog], request: pytest.FixtureRequest) -> Blog:
    request.node.user_properties.append(("database", deployed_blog[0]))
    return deployed_blog[1]


@pytest.fixture(scope="module", params=BACKENDS)
def deployed_blog(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Blog]]:
    backend: Backend = request.getfixturevalue(f"{request.param}_backend")
    url = backend.make_migrated()
    engine = engine_for(url)
    sessions = make_session_factory(engine)
    data = tmp_path_factory.mktemp("deploy-data")
    ctx = deployments.DeployContext(sessions, data / "projects", data / "deployments")
    with sessions.begin() as session:
        user = make_user(session)
        project = make_project(session, user, template=ProjectTemplate.BLOG, name="Deployed blog")
        user_id, project_id = user.id, project.id
    completed_run(sessions, ctx.projects_dir, user_id, project_id)
    first = deployments.deploy_now(ctx, user_id, project_id, "local")
    yield backend.name, Blog(sessions, ctx, user_id, project_id, first)
    stop_deployed_apps(sessions)
    engine.dispose()
    backend.cleanup(url)


def _serves_and_keeps_its_rows_through_a_zero_downtime_redeploy(blog: Blog) -> None:
    first = blog.first
    assert first.status is D.SUCCEEDED, first.log
    assert first.url == f"http://127.0.0.1:{first.port}/"
    project = blog.project()
    assert project.status is ProjectStatus.DEPLOYED
    assert project.deployment_url == first.url
    assert project.deployed_at is not None
    assert first.url is not None
    headers = sign_up_and_in(first.url, "reader@example.com")
    for name in ("Ada", "Grace"):
        created = httpx.post(
            f"{first.url}api/authors",
            json={"name": name, "email": f"{name.lower()}@example.com"},
            headers=headers,
            timeout=10,
        )
        assert created.status_code == 201, created.text

    completed_run(blog.sessions, blog.ctx.projects_dir, blog.user_id, blog.project_id, CHANGED_SPEC)
    with LoadLoop(f"{first.url}api/authors") as load:
        second = deployments.deploy_now(blog.ctx, blog.user_id, blog.project_id, "local")
    assert second.status is D.SUCCEEDED, second.log
    assert load.ok > 0
    assert load.failures == []
    assert (second.url, second.port) == (first.url, first.port)  # same address for users
    old = blog.row(first.id)
    assert old.status is D.CANCELLED
    assert f"Superseded by deployment {second.id}" in old.log
    assert not processes.is_running(old.pid, old.process_started)
    assert blog.live().id == second.id

    # the same database, migrated: the old rows are there, with the new column
    listed = httpx.get(f"{second.url}api/authors", timeout=10).json()["items"]
    assert sorted(a["name"] for a in listed) == ["Ada", "Grace"]
    created = httpx.post(
        f"{second.url}api/authors",
        json={"name": "Linus", "email": "linus@example.com", "nickname": "penguin"},
        headers=headers,  # the sessions, in the same database, still hold
        timeout=10,
    )
    assert created.status_code == 201, created.text
    assert created.json()["nickname"] == "penguin"


def _logs_the_deploy_steps_then_the_apps_output(blog: Blog) -> None:
    live = blog.live()
    text = deployments.logs.tail(blog.ctx.log_path(live), 500)
    assert "[deploy] Applying the app's migrations" in text
    assert f"[deploy] Starting the app on port {live.port}" in text
    assert "Application startup complete" in text
    assert deployments.logs.tail(blog.ctx.log_path(live), 1).count("\n") == 1


def _is_readopted_by_a_new_supervisor_which_records_its_crash(blog: Blog) -> None:
    live = blog.live()
    before = deployments.Supervisor(blog.ctx, interval=0.1)
    before.start()
    before.stop()  # the platform goes down; the app does not
    assert processes.is_running(live.pid, live.process_started)

    after = deployments.Supervisor(blog.ctx)  # the platform is back
    assert after.check() == []
    assert live.id in after.watching
    assert blog.row(live.id).status is D.SUCCEEDED

    assert live.pid is not None
    os.killpg(live.pid, signal.SIGKILL)
    while processes.is_running(live.pid, live.process_started):
        pass
    assert after.check() == [live.id]
    crashed = blog.row(live.id)
    assert crashed.status is D.FAILED
    assert crashed.finished_at is not None
    assert "Application startup complete" in crashed.log  # the app's own output
    assert f"The app's process (pid {live.pid}) exited" in crashed.log
    assert blog.project().status is ProjectStatus.ERROR
    assert after.check() == []  # recorded once


def _starts_again_after_the_crash_with_its_data_then_stops(blog: Blog) -> None:
    with blog.sessions() as session:
        crashed = session.scalars(
            select(Deployment)
            .where(Deployment.project_id == blog.project_id, Deployment.status == D.FAILED)
            .order_by(Deployment.created_at.desc())
        ).first()
        assert crashed is not None
    with blog.sessions.begin() as session:
        owner = session.get_one(User, blog.user_id)
        again_id = deployments.again(session, blog.ctx, owner, crashed.id, latest=False).id
    started = deployments.carry_out(blog.ctx, again_id)
    assert started.status is D.SUCCEEDED, started.log
    assert started.run_id == crashed.run_id
    assert started.url is not None
    names = sorted(
        a["name"] for a in httpx.get(f"{started.url}api/authors", timeout=10).json()["items"]
    )
    assert names == ["Ada", "Grace", "Linus"]
    assert blog.project().status is ProjectStatus.DEPLOYED

    with blog.sessions.begin() as session:
        deployments.stop(session, started.id, owner_id=blog.user_id)
    stopped = blog.row(started.id)
    assert stopped.status is D.CANCELLED
    assert not processes.is_running(stopped.pid, stopped.process_started)
    assert blog.project().status is ProjectStatus.READY
    assert deployments.Supervisor(blog.ctx).check() == []  # a stop is not a crash
    with pytest.raises(httpx.ConnectError):
        httpx.get(started.url, timeout=5)


def test_the_blog_app_deployed_locally(blog: Blog) -> None:
    _serves_and_keeps_its_rows_through_a_zero_downtime_redeploy(blog)
    _logs_the_deploy_steps_then_the_apps_output(blog)
    _is_readopted_by_a_new_supervisor_which_records_its_crash(blog)
    _starts_again_after_the_crash_with_its_data_then_stops(blog)
