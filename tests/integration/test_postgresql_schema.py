"""What only PostgreSQL has: native column types, enum types, and plans that use our indexes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError

from appbuilder.db.types import new_id

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


def test_common_queries_use_their_indexes(pg_engine: Engine) -> None:
    project_id = _load(pg_engine, users=1000, projects_per_user=40, generations_per_project=10)
    latest_projects = _plan(
        pg_engine,
        "SELECT * FROM projects WHERE user_id = :u ORDER BY created_at DESC, id DESC LIMIT 10",
        {"u": "u7"},
    )
    assert "ix_projects_user_id_created_at" in latest_projects
    assert '"Node Type": "Sort"' not in latest_projects  # the index gives the order

    history = _plan(
        pg_engine,
        "SELECT * FROM generations WHERE project_id = :p ORDER BY created_at DESC, id DESC",
        {"p": project_id},
    )
    assert "ix_generations_project_id_created_at" in history
    assert '"Node Type": "Seq Scan"' not in history

    user_history = _plan(
        pg_engine,
        "SELECT * FROM generations WHERE user_id = :u ORDER BY created_at DESC LIMIT 20",
        {"u": "u3"},
    )
    assert "ix_generations_user_id_created_at" in user_history

    by_email = _plan(pg_engine, "SELECT * FROM users WHERE email = :e", {"e": "u9@example.com"})
    assert "ix_users_email" in by_email

    by_status = _plan(pg_engine, "SELECT id FROM generations WHERE status = :s", {"s": "FAILED"})
    assert "ix_generations_status" in by_status


def test_ids_generated_in_python_fit_the_column(pg_engine: Engine) -> None:
    with pg_engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (id, email, password_hash) VALUES (:id, 'a@b.c', 'h')"),
            {"id": new_id()},
        )
