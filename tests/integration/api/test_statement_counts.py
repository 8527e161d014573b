"""The hot read endpoints send a constant, known number of SQL statements, whatever the rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from appbuilder.db.async_reads import AsyncReads
from appbuilder.db.models import Project
from appbuilder.db.session import make_session_factory, transaction
from appbuilder.db.types import utcnow
from appbuilder.generator.history import ProjectHistory
from appbuilder.services import auth
from appbuilder.settings import Settings
from tests.factories import make_finished_run, make_generation
from tests.integration.api.conftest import Account, Api, LiveServer
from tests.integration.conftest import StatementCounter


def _fill(api: Api, engine: Engine, owner: Account, projects: int, generations: int) -> str:
    ids = [api.project(owner, name=f"p{i}")["id"] for i in range(projects)]
    with transaction(make_session_factory(engine)) as session:
        project = session.get(Project, ids[0])
        assert project is not None
        for _ in range(generations):
            make_generation(session, project)
    return ids[0]


def _sent(server: LiveServer, api: Api, path: str, owner: Account) -> list[str]:
    """What the server sends on either path: its engine (a worker thread's session) and, on
    PostgreSQL, its async pool (the hot reads, ``db.async_reads``)."""
    counter = StatementCounter()
    engine: Engine = server.app.state.engine
    pool: AsyncReads | None = server.app.state.async_reads
    event.listen(engine, "before_cursor_execute", counter)
    if pool is not None:
        pool.on_statement.append(counter.statements.append)
    try:
        assert api.get(path, headers=owner.headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", counter)
        if pool is not None:
            pool.on_statement.remove(counter.statements.append)
    return counter.statements


#: per hot read route, the most statements one request sends (transaction control aside)
MOST = {
    "/api/projects?limit=20": 2,  # credential, one page
    "/api/projects/{id}": 4,  # credential, project with owner, generations page, latest run
    "/api/projects/{id}/runs": 3,  # credential, project, one page of runs
    "/api/me": 1,  # credential (the user comes with it)
    "/api/usage": 6,  # credential, then one count per metered limit
}


@pytest.mark.parametrize("path", list(MOST))
def test_statements_do_not_grow_with_rows(
    api: Api,
    engine: Engine,
    live_server: tuple[LiveServer, str],
    path: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # last_used_at is written at most once per interval: on a slow machine the interval could
    # pass between the warm-up and the count, so the count would depend on the clock
    monkeypatch.setattr(auth, "TOUCH_INTERVAL", timedelta(days=1))
    small_owner, big_owner = api.account(), api.account()
    small = _fill(api, engine, small_owner, projects=2, generations=1)
    big = _fill(api, engine, big_owner, projects=25, generations=60)
    # warm up: the first request of a key may write last_used_at
    for owner, project in ((small_owner, small), (big_owner, big)):
        api.get(path.format(id=project), headers=owner.headers)
    server = live_server[0]
    few = _sent(server, api, path.format(id=small), small_owner)
    many = _sent(server, api, path.format(id=big), big_owner)
    assert len(few) == len(many), many
    assert len(many) == MOST[path], many


def _finished_run(engine: Engine, settings: Settings, owner: Account, project: str, n: int) -> str:
    """A completed run with ``n`` events and a commit of ``n`` files."""
    history = ProjectHistory(settings.projects_dir / project)
    files = {f"app/file_{i}.py": b"x = 1\n" for i in range(n)}
    commit = history.commit(files, "Generated", when=utcnow(), marker=project, retry=False)
    said: list[tuple[str, dict[str, Any]]] = [("log", {"line": f"line {i}"}) for i in range(n - 1)]
    with transaction(make_session_factory(engine)) as session:
        return make_finished_run(session, project, owner.id, commit, said)


def test_the_stream_of_a_finished_run_and_the_file_tree_send_three_statements(
    api: Api,
    engine: Engine,
    api_settings: Settings,
    live_server: tuple[LiveServer, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The credential, the run's (or project's) check, its events (or latest commit): as
    many for 2 events and files as for 300 (a guard against growth: before they became
    steps, these routes sent three too, through the ORM)."""
    monkeypatch.setattr(auth, "TOUCH_INTERVAL", timedelta(days=1))
    server = live_server[0]
    counts = []
    for n in (2, 300):
        owner = api.account()
        project = api.project(owner)["id"]
        run = _finished_run(engine, api_settings, owner, project, n)
        for path in (f"/api/runs/{run}/events", f"/api/projects/{project}/files"):
            api.get(path, headers=owner.headers)  # warm up: the key's first use is written
            counts.append(len(_sent(server, api, path, owner)))
    assert counts == [3, 3, 3, 3]
