"""`uab repo` and `uab rollback` as an operator runs them: the console script in a real
subprocess, real git, a bare repository as the remote."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from appbuilder.db.models import Deployment, GenerationRun, Project
from appbuilder.db.session import make_session_factory
from appbuilder.db.types import utcnow
from appbuilder.enums import DeploymentStatus, ProjectStatus, RunStatus
from appbuilder.generator.history import ProjectHistory
from appbuilder.settings import get_settings
from tests.factories import make_project, make_user
from tests.git_servers import bare, git, tip
from tests.integration.test_cli import ok, uab
from tests.servers import free_port


def project_with_two_runs(engine: Engine) -> tuple[str, list[str], ProjectHistory]:
    """A READY project whose history holds two completed runs' commits (oldest first)."""
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        project = make_project(session, make_user(session), status=ProjectStatus.READY)
        history = ProjectHistory(get_settings().projects_dir / project.id)
        run_ids = []
        for number, files in enumerate(({"a.txt": b"one\n"}, {"a.txt": b"two\n", "b.txt": b"!"})):
            when = utcnow() - timedelta(minutes=10 - number)
            run = GenerationRun(
                project_id=project.id,
                user_id=project.user_id,
                status=RunStatus.COMPLETED,
                previous_status=ProjectStatus.DRAFT,
                spec={"name": "Notes"},
                spec_hash="0" * 64,
                files_count=len(files),
                created_at=when,
                finished_at=when,
            )
            session.add(run)
            session.flush()
            run.commit_sha = history.commit(files, "Generate", when=when, marker=f"Run: {run.id}")
            run_ids.append(run.id)
        return project.id, run_ids, history


def test_set_push_and_roll_back_from_the_terminal(engine: Engine, tmp_path: Path) -> None:
    project_id, (first, second), history = project_with_two_runs(engine)
    remote = bare(tmp_path / "remote.git")
    assert "has no remote" in ok("repo", "show", project_id)
    assert f"pushes to file://{remote}" in ok("repo", "set", project_id, f"file://{remote}")
    pushed = ok("repo", "push", project_id)
    assert pushed.startswith(f"Pushed {history.head()[:12]}")  # type: ignore[index]
    assert tip(remote) == history.head()

    rolled = ok("rollback", project_id, first)
    assert f"Rolled back to run {first}" in rolled
    assert "Pushed " in rolled
    with make_session_factory(engine)() as session:
        newest = session.scalars(
            select(GenerationRun)
            .where(GenerationRun.project_id == project_id)
            .order_by(GenerationRun.finished_at.desc())
        ).first()
    assert newest is not None
    assert newest.rollback_of == first
    assert tip(remote) == newest.commit_sha == history.head()
    assert git(remote, "show", "main:a.txt") == "one"
    # three commits: the first run's, the second's, and the rollback with the first's tree
    assert git(remote, "rev-parse", "main^{tree}") == git(remote, "rev-parse", "main~2^{tree}")
    assert git(remote, "rev-parse", "main^{tree}") != git(remote, "rev-parse", "main~1^{tree}")
    assert len(git(remote, "rev-list", "main").split()) == 3
    again = uab("rollback", project_id, first)
    assert again.returncode == 1
    assert "already the current version" in again.stderr

    # a running app keeps its version through a rollback: the output says how to update it
    with make_session_factory(engine).begin() as session:
        running = Deployment(
            project_id=project_id,
            target="local",
            status=DeploymentStatus.SUCCEEDED,
            url="http://127.0.0.1:1/",
        )
        session.add(running)
        session.flush()
        running_id = running.id
    forward = ok("rollback", project_id, second)
    assert f"The running app (deployment {running_id}) is still on the previous version" in forward
    assert f"uab deployments start {running_id} --latest" in forward


def test_a_token_comes_from_the_environment_and_never_shows(engine: Engine, tmp_path: Path) -> None:
    project_id, _, _ = project_with_two_runs(engine)
    url = f"http://127.0.0.1:{free_port()}/notes.git"  # nothing listens there
    secret = "tok-" + "z" * 20
    shown = ok("repo", "set", project_id, url, "--token-env", "NOTES_TOKEN",
        env={"NOTES_TOKEN": secret})  # fmt: skip
    assert "with a token (stored encrypted)" in shown
    failed = uab("repo", "push", project_id)
    assert failed.returncode == 1
    assert f"Could not push to {url}" in failed.stderr
    show = uab("repo", "show", project_id)
    assert "Last push failed: Could not push" in show.stderr
    for output in (shown, failed.stdout, failed.stderr, show.stdout, show.stderr):
        assert secret not in output
    with make_session_factory(engine)() as session:
        project = session.get_one(Project, project_id)
        assert project.repository_token == secret  # decrypted for git, and only for git
    missing = uab("repo", "set", project_id, url, "--token-env", "NO_SUCH_VARIABLE")
    assert missing.returncode == 1
    assert "NO_SUCH_VARIABLE is not set" in missing.stderr
