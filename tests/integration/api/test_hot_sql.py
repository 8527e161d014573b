"""The floor the API is measured against (bench/async_floor.py, bench/bare_app.py) runs the
SQL in bench/hot_sql.py: this keeps that file equal to what ours sends, on PostgreSQL, where
the bench runs, so the floor never measures an easier query than ours. The hot reads are
steps (``db.reads``) that either driver runs: asyncpg (the async pool) sends exactly these
statements, with their parameters in this order; psycopg (the engine: SQLite, or the async
pool off) the same statements in its own parameter style."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from bench import hot_sql
from sqlalchemy import Engine, event
from sqlalchemy.dialects import postgresql

from appbuilder.db.async_reads import AsyncReads
from appbuilder.db.reads import Steps, run_steps
from appbuilder.db.session import make_session_factory, transaction
from appbuilder.enums import SubscriptionTier
from appbuilder.services import auth, project_files, projects, quotas, runs
from appbuilder.services.pagination import PageRequest
from appbuilder.services.runs import events
from appbuilder.settings import Settings
from tests.factories import make_finished_run, make_generation, make_project, make_user


def _on_the_engine(engine: Engine, steps: Callable[[], Steps[Any]]) -> list[str]:
    sent: list[str] = []

    def record(*args: object) -> None:
        sent.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with transaction(make_session_factory(engine)) as session:
            run_steps(session, steps())
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return sent


def _on_the_async_pool(engine: Engine, steps: Callable[[], Steps[Any]]) -> list[str]:
    url = engine.url.render_as_string(hide_password=False)

    async def run() -> list[str]:
        reads = AsyncReads(Settings(database_url=url).database)
        await reads.open()
        sent: list[str] = []
        reads.on_statement.append(sent.append)
        try:
            await reads.run(steps)
        finally:
            await reads.close()
        return sent

    return asyncio.run(run())


_PARAMETER = re.compile(r"(%\((\w+)\)s|\$\d+)(::(?:TIMESTAMP WITH TIME ZONE|\w+))?")


def _sent(engine: Engine, steps: Callable[[], Steps[Any]]) -> list[hot_sql.Statement]:
    """What the steps send on the async pool, and the same statements on the engine: each
    with its parameters' names in order (psycopg's style names them)."""
    on_the_pool = _on_the_async_pool(engine, steps)
    on_the_engine = _on_the_engine(engine, steps)
    assert [_PARAMETER.sub("?", sql) for sql in on_the_pool] == [
        _PARAMETER.sub("?", sql) for sql in on_the_engine
    ]
    return [
        hot_sql.Statement(sql, tuple(name for _, name, _ in _PARAMETER.findall(named)))
        for sql, named in zip(on_the_pool, on_the_engine, strict=True)
    ]


def test_the_floor_sends_the_statements_ours_sends(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(make_session_factory(pg_engine)) as session:
        user = make_user(session)
        project = make_project(session, user)
        make_generation(session, project)
        token = auth.issue_session(session, user, Settings().auth).token
        user_id, project_id = user.id, project.id

    monkeypatch.setattr(auth, "TOUCH_INTERVAL", timedelta(0))  # the write, every time
    touched = _sent(pg_engine, lambda: _authenticated_and_touched(token))
    assert touched == [hot_sql.SESSION_LOOKUP, hot_sql.TOUCH_SESSION]

    page = PageRequest(limit=20)
    listed = _sent(pg_engine, lambda: projects.user_projects_steps(user_id, page))
    assert listed == [hot_sql.PROJECT_PAGE]

    detail = _sent(
        pg_engine,
        lambda: projects.project_page_steps(project_id, PageRequest(limit=50), owner_id=user_id),
    )
    assert detail == [hot_sql.PROJECT_WITH_OWNER, hot_sql.LATEST_RUN, hot_sql.GENERATION_PAGE]

    usage = _sent(pg_engine, lambda: quotas.usage_steps(_subscriber(user_id)))
    assert usage == list(hot_sql.USAGE)

    run_id = _completed_run(pg_engine, project_id, user_id)
    stream = _sent(pg_engine, lambda: _a_finished_runs_stream(run_id, user_id))
    assert stream == [hot_sql.RUN_OF_OWNER, hot_sql.RUN_EVENTS]
    tree = _sent(
        pg_engine,
        lambda: project_files.recorded_commit_steps(project_id, None, owner_id=user_id),
    )
    assert tree == [hot_sql.PROJECT_OF_OWNER, hot_sql.LATEST_COMMIT]


def test_the_floor_binds_the_stream_and_tree_constants_ours_binds() -> None:
    """What the floor passes literally: a read's most events, the completed status and the
    latest run's limit of one."""
    for statement, expected in [
        (events._AFTER, {"param_1": hot_sql.EVENTS_PER_READ}),
        (project_files._LATEST_COMPLETED, {"status_1": "COMPLETED", "param_1": 1}),
    ]:
        compiled = statement.compile(dialect=postgresql.asyncpg.dialect())
        assert {k: v for k, v in compiled.params.items() if v is not None} == expected


def _completed_run(engine: Engine, project_id: str, user_id: str) -> str:
    """A finished run with a commit and two events, as a worker leaves one."""
    with transaction(make_session_factory(engine)) as session:
        return make_finished_run(session, project_id, user_id, "a" * 40, [("started", {})])


def _a_finished_runs_stream(run_id: str, user_id: str) -> Steps[object]:
    """A stream's statements for a finished run: its check, then one read of its events."""
    yield from runs.check_run_steps(run_id, owner_id=user_id)
    batch, _ = yield from runs.poll_events_steps(run_id, 0)
    assert [event.kind for event in batch] == ["started", events.FINISHED]
    return batch


def test_the_floor_binds_the_constants_ours_binds() -> None:
    """The usage statements' own values (statuses, the deploy target, a sum's zero), which
    the floor passes as parameters: the same values, the two of an OR in either order."""
    steps = quotas.usage_steps(_subscriber("u1"))
    bound: dict[str, dict[str, object]] = {}
    read = next(steps)
    with contextlib.suppress(StopIteration):
        while True:
            compiled = read.statement.compile(dialect=postgresql.asyncpg.dialect())
            constants = {k: v for k, v in compiled.params.items() if k not in read.params}
            bound[str(compiled)] = {k: v for k, v in constants.items() if v is not None}
            read = steps.send([(0, 0)])
    for statement, expected in hot_sql.USAGE_CONSTANTS.items():
        assert _unordered(bound[statement.sql]) == _unordered(expected), statement
    assert {s for s, values in bound.items() if values} == {
        statement.sql for statement in hot_sql.USAGE_CONSTANTS
    }


def _unordered(values: dict[str, object]) -> dict[str, object]:
    """The statuses as one sorted list: an OR's two may come in either order (a set's)."""
    statuses = {k: v for k, v in values.items() if k.startswith("status_")}
    rest = {k: v for k, v in values.items() if k not in statuses}
    return {**rest, "statuses": sorted(str(v) for v in statuses.values())}


def _subscriber(user_id: str) -> quotas.SubscriberRow:
    return quotas.SubscriberRow(
        id=user_id,
        subscription_tier=SubscriptionTier.FREE,
        subscription_status=None,
        subscription_grace_ends_at=None,
    )


def _authenticated_and_touched(token: str) -> Steps[auth.Principal]:
    """The credential's steps as a hot read runs them: the look-up, then the due write."""
    found = yield from auth.authenticate_steps(token)
    assert found.touch is not None
    yield found.touch
    return found.principal
