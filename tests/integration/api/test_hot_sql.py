"""The floor the API is measured against (bench/async_floor.py, bench/bare_app.py) runs the
SQL in bench/hot_sql.py: this keeps that file equal to what ours sends, on PostgreSQL, where
the bench runs, so the floor never measures an easier query than ours."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from bench import hot_sql
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from appbuilder.db.session import make_session_factory, transaction
from appbuilder.services import auth, projects
from appbuilder.services.pagination import PageRequest
from appbuilder.settings import Settings
from tests.factories import make_generation, make_project, make_user


def _sent(engine: Engine, work: Callable[[Session], object]) -> list[str]:
    sent: list[str] = []

    def record(*args: object) -> None:
        sent.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with transaction(make_session_factory(engine)) as session:
            work(session)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return sent


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
    touched = _sent(pg_engine, lambda session: auth.authenticate(session, token))
    assert touched == [hot_sql.SESSION_LOOKUP, hot_sql.TOUCH_SESSION]

    page = PageRequest(limit=20)
    listed = _sent(pg_engine, lambda s: projects.list_user_projects(s, user_id, page))
    assert listed == [hot_sql.PROJECT_PAGE]

    detail = _sent(
        pg_engine,
        lambda s: projects.get_project_with_generation_page(
            s, project_id, PageRequest(limit=50), owner_id=user_id
        ),
    )
    assert sorted(detail) == sorted(
        [hot_sql.PROJECT_WITH_OWNER, hot_sql.LATEST_RUN, hot_sql.GENERATION_PAGE]
    )
