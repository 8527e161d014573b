"""What only PostgreSQL has: native column types, enum types, and plans that use our indexes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from appbuilder.db.session import make_session_factory
from appbuilder.db.types import new_id
from appbuilder.services.pagination import PageRequest
from appbuilder.services.projects import (
    get_project_with_generations,
    list_project_generations,
    list_user_projects,
)
from appbuilder.services.users import get_user_by_email, get_user_with_latest_projects

EXPECTED_TYPES = [
    ("projects", "features", "ARRAY", "_text"),
    ("projects", "config", "jsonb", "jsonb"),
    ("api_keys", "scopes", "ARRAY", "_text"),
    ("generations", "prompt", "text", "text"),
    ("generations", "response", "text", "text"),
    ("generations", "error_message", "text", "text"),
    ("users", "role", "USER-DEFINED", "user_role"),
    ("users", "created_at", "timestamp with time zone", "timestamptz"),
    ("projects", "status", "USER-DEFINED", "project_status"),
    ("projects", "template", "USER-DEFINED", "project_template"),
    ("generations", "agent_type", "USER-DEFINED", "agent_type"),
    ("generations", "status", "USER-DEFINED", "generation_status"),
]


@pytest.mark.parametrize(("table", "column", "data_type", "udt"), EXPECTED_TYPES)
def test_native_column_types(
    pg_engine: Engine, table: str, column: str, data_type: str, udt: str
) -> None:
    with pg_engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT data_type, udt_name FROM information_schema.columns "
                "WHERE table_name = :t AND column_name = :c"
            ),
            {"t": table, "c": column},
        ).one()
    assert tuple(row) == (data_type, udt)


def test_enum_labels_in_the_database(pg_engine: Engine) -> None:
    with pg_engine.connect() as connection:
        labels = connection.execute(
            text(
                "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
                "WHERE t.typname = 'project_status' ORDER BY e.enumsortorder"
            )
        ).scalars()
        assert list(labels) == ["DRAFT", "GENERATING", "READY", "DEPLOYING", "DEPLOYED", "ERROR"]


def test_the_database_rejects_an_unknown_enum_value(pg_engine: Engine) -> None:
    with pg_engine.begin() as connection, pytest.raises(DataError, match="invalid input value"):
        connection.execute(text("SELECT 'SHIPPED'::project_status"))


def _load(engine: Engine, users: int, projects_per_user: int, generations_per_project: int) -> str:
    """Bulk-insert realistic volumes with generate_series; returns one project id."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, email, password_hash) "
                "SELECT 'u' || i, 'u' || i || '@example.com', 'h' FROM generate_series(1, :n) i"
            ),
            {"n": users},
        )
        connection.execute(
            text(
                "INSERT INTO projects (id, name, template, config, features, user_id, created_at) "
                "SELECT 'p' || u || '_' || j, 'P', 'BLOG', '{}', '{}', 'u' || u, "
                "now() - (j || ' minutes')::interval "
                "FROM generate_series(1, :u) u, generate_series(1, :j) j"
            ),
            {"u": users, "j": projects_per_user},
        )
        connection.execute(
            text(
                "INSERT INTO generations (id, project_id, user_id, agent_type, prompt, response, "
                "created_at) SELECT 'g' || p.id || '_' || k, p.id, p.user_id, 'BACKEND', 'p', "
                "'r', now() - (k || ' seconds')::interval "
                "FROM projects p, generate_series(1, :k) k "
                "WHERE p.user_id IN (SELECT 'u' || i FROM generate_series(1, 100) i)"
            ),
            {"k": generations_per_project},
        )
        connection.execute(text("ANALYZE"))
    return "p1_1"


def _plan(engine: Engine, sql: str, params: dict[str, str]) -> str:
    with engine.connect() as connection:
        rows = connection.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"), params).scalar_one()
    return json.dumps(rows)


def _plans_of(engine: Engine, call: Callable[[Session], object]) -> list[str]:
    """Run a service function, then EXPLAIN each SELECT it sent, with its own parameters."""
    sent: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("SELECT"):
            sent.append((args[2], args[3]))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with make_session_factory(engine)() as session:
            call(session)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    with engine.connect() as connection:
        return [
            json.dumps(connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params).scalar())
            for sql, params in sent
        ]


def test_the_service_queries_use_their_indexes(pg_engine: Engine) -> None:
    """EXPLAIN the statements the service functions really send, on realistic volumes."""
    project_id = _load(pg_engine, users=1000, projects_per_user=40, generations_per_project=10)

    _user, latest = _plans_of(pg_engine, lambda s: get_user_with_latest_projects(s, "u7"))
    assert "ix_projects_user_id_created_at" in latest
    assert '"Node Type": "Sort"' not in latest  # the index gives the order

    _project, history = _plans_of(
        pg_engine, lambda s: get_project_with_generations(s, project_id, owner_id=None)
    )
    assert "ix_generations_project_id_created_at" in history
    assert '"Node Type": "Seq Scan"' not in history

    (first_page,) = _plans_of(
        pg_engine, lambda s: list_user_projects(s, "u9", PageRequest(limit=20))
    )
    assert "ix_projects_user_id_created_at" in first_page
    assert '"Node Type": "Sort"' not in first_page

    _project, generations_page = _plans_of(
        pg_engine,
        lambda s: list_project_generations(s, project_id, PageRequest(limit=5), owner_id=None),
    )
    assert "ix_generations_project_id_created_at" in generations_page

    (by_email,) = _plans_of(pg_engine, lambda s: get_user_by_email(s, "u9@example.com"))
    assert "ix_users_email" in by_email


def test_status_and_user_history_indexes_are_used(pg_engine: Engine) -> None:
    _load(pg_engine, users=1000, projects_per_user=40, generations_per_project=10)
    user_history = _plan(
        pg_engine,
        "SELECT * FROM generations WHERE user_id = :u ORDER BY created_at DESC LIMIT 20",
        {"u": "u3"},
    )
    assert "ix_generations_user_id_created_at" in user_history
    by_status = _plan(pg_engine, "SELECT id FROM generations WHERE status = :s", {"s": "FAILED"})
    assert "ix_generations_status" in by_status
    drafts = _plan(pg_engine, "SELECT id FROM projects WHERE status = :s", {"s": "DEPLOYED"})
    assert "ix_projects_status" in drafts


def test_ids_generated_in_python_fit_the_column(pg_engine: Engine) -> None:
    with pg_engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (id, email, password_hash) VALUES (:id, 'a@b.c', 'h')"),
            {"id": new_id()},
        )
