"""A redeploy whose spec removes a field and an entity: the running version reads those
columns, so it is stopped before the migration instead of answering errors beside the new
one; the rows stay, without what was removed. Real processes, real migrations."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.models import Deployment, GenerationRun, Project, User
from appbuilder.db.session import make_session_factory
from appbuilder.enums import DeploymentStatus, ProjectStatus, ProjectTemplate
from appbuilder.services import deployments
from appbuilder.services.deployments import processes
from appbuilder.services.projects import project_folder
from tests.deploying import completed_run, sign_up_and_in, stop_deployed_apps
from tests.factories import make_project, make_user
from tests.integration.conftest import Backend, engine_for

D = DeploymentStatus
WITH_DUE = {
    "name": "Notes",
    "template": "CUSTOM",
    "features": ["auth"],
    "entities": [
        {"name": "Note", "fields": [{"name": "title"}, {"name": "due", "required": False}]}
    ],
}
NOTE = {"name": "Note", "fields": [{"name": "title"}, {"name": "mood", "required": False}]}
TAG = {"name": "Tag", "fields": [{"name": "label"}]}
FIRST = {"name": "Notes", "template": "CUSTOM", "features": ["auth"], "entities": [NOTE, TAG]}
WITHOUT_MOOD_AND_TAGS = {
    "name": "Notes",
    "template": "CUSTOM",
    "features": ["auth"],
    "entities": [{"name": "Note", "fields": [{"name": "title"}]}],
}


@pytest.fixture
def deployed(
    sqlite_backend: Backend, tmp_path: Path
) -> Iterator[tuple[sessionmaker[Session], deployments.DeployContext, str, str]]:
    url = sqlite_backend.make_migrated()
    engine = engine_for(url)
    sessions = make_session_factory(engine)
    ctx = deployments.DeployContext(sessions, tmp_path / "projects", tmp_path / "deployments")
    with sessions.begin() as session:
        user = make_user(session)
        project = make_project(session, user, template=ProjectTemplate.CUSTOM, name="Notes")
        user_id, project_id = user.id, project.id
    yield sessions, ctx, user_id, project_id
    stop_deployed_apps(sessions)
    engine.dispose()
    sqlite_backend.cleanup(url)


def _first_version_with_a_moody_note(
    deployed: tuple[sessionmaker[Session], deployments.DeployContext, str, str],
) -> tuple[Deployment, dict[str, str]]:
    """FIRST deployed and serving, with a note (its mood set) by a signed-in writer."""
    sessions, ctx, user_id, project_id = deployed
    completed_run(sessions, ctx.projects_dir, user_id, project_id, FIRST)
    first = deployments.deploy_now(ctx, user_id, project_id, "local")
    assert first.status is D.SUCCEEDED, first.log
    assert first.url is not None
    headers = sign_up_and_in(first.url, "writer@example.com")
    made = httpx.post(
        f"{first.url}api/notes", json={"title": "Kept", "mood": "gone"}, headers=headers
    )
    assert made.status_code == 201, made.text
    return first, headers


def test_a_redeploy_that_removes_columns_stops_the_old_version_first_and_keeps_the_rows(
    deployed: tuple[sessionmaker[Session], deployments.DeployContext, str, str],
) -> None:
    sessions, ctx, user_id, project_id = deployed
    first, headers = _first_version_with_a_moody_note(deployed)
    tagged = httpx.post(f"{first.url}api/tags", json={"label": "also gone"}, headers=headers)
    assert tagged.status_code == 201, tagged.text

    completed_run(sessions, ctx.projects_dir, user_id, project_id, WITHOUT_MOOD_AND_TAGS)
    second = deployments.deploy_now(ctx, user_id, project_id, "local")

    assert second.status is D.SUCCEEDED, second.log
    log = deployments.logs.tail(ctx.log_path(second), 500)
    said = re.search(r"This version removes (.+), which the running version reads", log)
    assert said is not None, log
    assert sorted(said.group(1).split(", ")) == ["column notes.mood", "table tags"]
    with sessions() as session:
        old = session.get_one(Deployment, first.id)
        (live,) = deployments.live_of_project(session, project_id)
    assert old.status is D.CANCELLED
    assert f"Superseded by deployment {second.id}, stopped before its migration removed " in (
        old.log
    )
    assert not processes.is_running(old.pid, old.process_started)
    assert live.id == second.id
    assert (second.url, second.port) == (first.url, first.port)

    # the same database: the note is there, without its mood; tags are gone
    listed = httpx.get(f"{second.url}api/notes", headers=headers, timeout=10)
    assert listed.status_code == 200, listed.text
    (note,) = listed.json()["items"]
    assert note["title"] == "Kept"
    assert "mood" not in note
    assert httpx.get(f"{second.url}api/tags", headers=headers, timeout=10).status_code == 404
    again = httpx.post(f"{second.url}api/notes", json={"title": "New"}, headers=headers)
    assert again.status_code == 201, again.text
    with sessions() as session:
        assert session.get_one(Project, project_id).status is ProjectStatus.DEPLOYED
    _an_older_version_started_again_is_refused(deployed, second.id, headers)


def _an_older_version_started_again_is_refused(
    deployed: tuple[sessionmaker[Session], deployments.DeployContext, str, str],
    older_id: str,
    headers: dict[str, str],
) -> None:
    """A newer version adds a field (zero downtime); then the older one is started again:
    it would drop the new column and its values, so it is refused and nothing changes."""
    sessions, ctx, user_id, project_id = deployed
    completed_run(sessions, ctx.projects_dir, user_id, project_id, WITH_DUE)
    third = deployments.deploy_now(ctx, user_id, project_id, "local")
    assert third.status is D.SUCCEEDED, third.log
    dated = httpx.post(
        f"{third.url}api/notes", json={"title": "Dated", "due": "soon"}, headers=headers
    )
    assert dated.status_code == 201, dated.text
    with sessions.begin() as session:
        owner = session.get_one(User, user_id)
        back_id = deployments.again(session, ctx, owner, older_id, latest=False).id
    back = deployments.carry_out(ctx, back_id)
    assert back.status is D.FAILED
    assert "This version is older than the app's database" in back.log
    assert "column notes.due" in back.log
    with sessions() as session:
        (live,) = deployments.live_of_project(session, project_id)
        assert session.get_one(Project, project_id).status is ProjectStatus.DEPLOYED
    assert live.id == third.id  # the newer version still serves, its data untouched
    listed = httpx.get(f"{third.url}api/notes", headers=headers, timeout=10).json()["items"]
    assert {n["title"]: n.get("due") for n in listed}["Dated"] == "soon"


def test_a_removing_redeploy_whose_new_version_fails_leaves_the_project_in_error_then_recovers(
    deployed: tuple[sessionmaker[Session], deployments.DeployContext, str, str],
) -> None:
    """The old version was stopped for the migration and the new one then never became
    healthy: nothing serves, and the project says so (ERROR, no URL) instead of pointing at
    a dead address; the migrated rows stay, and the next good deploy serves them."""
    sessions, ctx, user_id, project_id = deployed
    first, headers = _first_version_with_a_moody_note(deployed)

    broken_run = completed_run(
        sessions, ctx.projects_dir, user_id, project_id, WITHOUT_MOOD_AND_TAGS
    )
    _break_on_start(sessions, ctx, project_id, broken_run)
    broken = deployments.deploy_now(ctx, user_id, project_id, "local")

    assert broken.status is D.FAILED
    assert "This version removes" in broken.log
    assert "The app exited before it was healthy" in broken.log
    assert "broken on purpose" in broken.log  # the app's own traceback, in its log tail
    with sessions() as session:
        project = session.get_one(Project, project_id)
        assert (project.status, project.deployment_url) == (ProjectStatus.ERROR, None)
        assert deployments.live_of_project(session, project_id) == []
        old = session.get_one(Deployment, first.id)
    assert old.status is D.CANCELLED
    assert not processes.is_running(old.pid, old.process_started)

    fixed_run = completed_run(
        sessions, ctx.projects_dir, user_id, project_id, WITHOUT_MOOD_AND_TAGS
    )
    fixed = deployments.deploy_now(ctx, user_id, project_id, "local", run_id=fixed_run)
    assert fixed.status is D.SUCCEEDED, fixed.log
    assert fixed.url is not None
    (note,) = httpx.get(f"{fixed.url}api/notes", headers=headers, timeout=10).json()["items"]
    assert note["title"] == "Kept"
    assert "mood" not in note
    with sessions() as session:
        project = session.get_one(Project, project_id)
        assert (project.status, project.deployment_url) == (ProjectStatus.DEPLOYED, fixed.url)


def _break_on_start(
    sessions: sessionmaker[Session], ctx: deployments.DeployContext, project_id: str, run_id: str
) -> None:
    """The run's commit, with an app that raises when uvicorn imports it (its migration,
    which imports only the models, still runs): the run now stands for that commit."""
    folder = project_folder(ctx.projects_dir, project_id)
    main = folder / "app" / "main.py"
    main.write_text('raise RuntimeError("broken on purpose")\n' + main.read_text())

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "break")
    with sessions.begin() as session:
        session.get_one(GenerationRun, run_id).commit_sha = git("rev-parse", "HEAD")
