"""The ledger's reads before every model call find their rows through an index, whatever
the owner's history: on SQLite reading a Generation row means stepping over its prompt and
answer, and at 10,000 rows of an owner each read took ~45 ms per call (0.2-0.8 ms with the
indexes of migration 0011). PostgreSQL's plans are checked on loaded tables in
``test_postgresql_schema``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.sql import Executable

from appbuilder.services.project_plans import _CLOSE_ABANDONED
from appbuilder.services.quotas import _TOKENS_USED
from tests.integration.conftest import Backend


@pytest.fixture
def backend(sqlite_backend: Backend, request: pytest.FixtureRequest) -> Backend:
    """SQLite only, not parametrised: PostgreSQL's plans depend on its statistics (and so no
    skipped PostgreSQL twin)."""
    request.node.user_properties.append(("database", "sqlite"))
    return sqlite_backend


def _sqlite_plan(engine: Engine, statement: Executable, values: dict[str, Any]) -> str:
    compiled = statement.compile(dialect=engine.dialect)
    params = compiled.construct_params(values)
    assert compiled.positiontup is not None
    ordered = [params[name] for name in compiled.positiontup]
    ordered = [str(v) if isinstance(v, str | datetime) else v for v in ordered]
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(ordered))
        return "\n".join(str(row[-1]) for row in rows)


def test_the_months_tokens_are_summed_from_the_index_alone(engine: Engine) -> None:
    plan = _sqlite_plan(engine, _TOKENS_USED, {"user_id": "u", "since": "2026-11-01"})
    assert "COVERING INDEX ix_generations_user_id_created_at_tokens_used" in plan


def test_a_plans_abandoned_calls_are_found_without_walking_the_owners_history(
    engine: Engine,
) -> None:
    values = {"owner": "u", "cutoff": "2026-11-29", "now": "2026-11-29"}
    plan = _sqlite_plan(engine, _CLOSE_ABANDONED, values)
    assert "ix_generations_user_id_status_created_at (user_id=? AND status=? AND" in plan
