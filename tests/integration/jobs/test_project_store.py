"""Workers on different machines: two `uab worker` processes with their own data
directories, sharing only the database and a project store of bare repositories. A run
killed on the first resumes on the second, which commits on top of the first's history."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.models import Project, User
from appbuilder.db.session import make_session_factory
from appbuilder.enums import ProjectTemplate, RunStatus
from appbuilder.generator.history import ProjectHistory
from appbuilder.jobs import setup
from appbuilder.services import project_files, runs
from appbuilder.services.projects import delete_project
from appbuilder.settings import get_settings
from tests.factories import make_project, make_user
from tests.git_servers import git, tip
from tests.integration.jobs.test_workers import (
    FINAL,
    UAB,
    event_kinds,
    run_row,
    wait_until,
)
from tests.servers import stop_process_group

Start = Callable[[Path], subprocess.Popen[bytes]]


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Both workers (and this test) share the store, fast leases and one secret key."""
    path = tmp_path / "store"
    monkeypatch.setenv("UAB_PROJECT_STORE", str(path))
    monkeypatch.setenv("UAB_SECRET_KEY", "store-test-" + "k" * 40)
    monkeypatch.setenv("UAB_RUN_LEASE_SECONDS", "3")
    monkeypatch.setenv("UAB_RUN_HEARTBEAT_SECONDS", "0.5")
    get_settings.cache_clear()
    return path


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Start]:
    started: list[subprocess.Popen[bytes]] = []

    def start(data_dir: Path) -> subprocess.Popen[bytes]:
        with (tmp_path / f"worker-{len(started)}.log").open("wb") as log:
            process = subprocess.Popen(
                [UAB, "worker", "--concurrency", "1"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "UAB_DATA_DIR": str(data_dir)},
            )
        started.append(process)
        return process

    yield start
    for process in started:
        stop_process_group(process)


#: a small app: its verification (the window in which a worker is killed) is short
SPEC = {"entities": [{"name": "Note", "fields": [{"name": "title", "type": "string"}]}]}


def queue(sessions: sessionmaker[Session], project_id: str | None, *, verify: bool) -> str:
    """A run of a new project (or ``project_id``'s) building SPEC; the run's id."""
    with sessions.begin() as session:
        if project_id is None:
            user = make_user(session)
            project_id = make_project(session, user, template=ProjectTemplate.CUSTOM).id
        else:
            user = session.get_one(User, session.get_one(Project, project_id).user_id)
        dispatcher = setup.dispatcher(get_settings(), None)
        run = runs.start_run(session, dispatcher, user, project_id, spec=SPEC, verify=verify)
        return run.id


def test_a_run_resumes_on_a_worker_with_another_data_directory(
    sessions: sessionmaker[Session], worker: Start, store: Path, tmp_path: Path
) -> None:
    first_dir, second_dir = tmp_path / "machine-a", tmp_path / "machine-b"
    first = worker(first_dir)
    run_id = queue(sessions, None, verify=False)
    wait_until(lambda: run_row(sessions, run_id).status in FINAL)
    one = run_row(sessions, run_id)
    project_id = one.project_id
    assert one.status is RunStatus.COMPLETED, one.error_message
    shared = store / f"{project_id}.git"
    assert tip(shared) == one.commit_sha

    # the next run dies on machine A mid-verification and resumes on machine B
    again = queue(sessions, project_id, verify=True)

    def verifying() -> bool:
        return any(
            kind == "log" and data.get("line", "").startswith("Verifying")
            for kind, data in event_kinds(sessions, again)
        )

    wait_until(verifying)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert not (second_dir / "projects" / project_id).exists()
    worker(second_dir)
    wait_until(lambda: run_row(sessions, again).status in FINAL)
    two = run_row(sessions, again)
    assert two.status is RunStatus.COMPLETED, two.error_message
    assert two.attempts == 2

    # B committed on top of A's commit, which it got from the store, and shared its own
    assert tip(shared) == two.commit_sha
    assert git(shared, "rev-parse", f"{two.commit_sha}^") == one.commit_sha
    on_b = ProjectHistory(second_dir / "projects" / project_id)
    assert on_b.head() == two.commit_sha
    assert (on_b.path / "app" / "main.py").is_file()  # a work tree, as ever
    on_a = ProjectHistory(first_dir / "projects" / project_id)
    assert on_a.head() == one.commit_sha  # A never saw run two: B had no shared folder

    # a server on a third machine shows the files, fetching what it lacks from the store
    third = tmp_path / "machine-c" / "projects"
    with sessions() as session:
        found = project_files.version(
            session, third, project_id, None, owner_id=None, store=str(store)
        )
        assert found.commit == two.commit_sha
        assert {e.path for e in project_files.tree(found)} == {
            e.path for e in on_b.tree(two.commit_sha)
        }

    # deleting the project deletes its repository in the store too
    with sessions.begin() as session:
        delete_project(session, project_id, owner_id=None, projects_dir=third, store=str(store))
    assert not shared.exists()
    assert not (third / project_id).exists()
