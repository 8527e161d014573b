"""`uab runs list` as a user runs it: the console script in a real subprocess."""

from __future__ import annotations

from sqlalchemy import Engine

from appbuilder.db.session import make_session_factory
from appbuilder.enums import ProjectTemplate
from appbuilder.jobs.runner import EmbeddedDispatcher
from appbuilder.services import runs
from tests.factories import make_project, make_user
from tests.integration.test_cli import uab


def queued_run(engine: Engine, name: str) -> tuple[str, str]:
    """A project named ``name`` with one queued run (nothing executes it here)."""
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        user = make_user(session)
        project = make_project(session, user, template=ProjectTemplate.API, name=name)
        run = runs.start_run(session, EmbeddedDispatcher(), user, project.id, verify=False)
        return project.id, run.id


def test_runs_list_shows_status_times_and_project(engine: Engine) -> None:
    assert "No runs yet" in uab("runs", "list").stdout
    first_project, first = queued_run(engine, "Plant shop")
    _, second = queued_run(engine, "Book club")

    listed = uab("runs", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [i for i, line in enumerate(lines) if second in line] < [
        i for i, line in enumerate(lines) if first in line
    ]  # newest first
    row = next(line for line in lines if first in line)
    assert "QUEUED" in row
    assert f"Plant shop ({first_project})" in row

    only = uab("runs", "list", "--project", first_project).stdout
    assert first in only
    assert second not in only
    newest = uab("runs", "list", "--limit", "1").stdout
    assert second in newest
    assert first not in newest

    missing = uab("runs", "list", "--project", "nosuchproject")
    assert missing.returncode == 1
    assert "not found" in missing.stderr.lower()
