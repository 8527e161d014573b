"""A reference between ours and the floor: the same SQL as our hot read routes
(bench/hot_sql.py) on psycopg 3 through a SQLAlchemy Core pool, pre-ping included (ours ran
its hot reads on psycopg until 2026-11-30, now on asyncpg as the floor does), served by bare
Starlette in its worker threads with no ORM, no validation and no dependency injection. Its
JSON is looser than ours (every value a string). The floor proper is bench/async_floor.py.
Run with uvicorn: ``bench.bare_app:app``.

The pool holds as many connections as the benchmark has clients (``BENCH_POOL_SIZE``,
default 16): with 5 kept and the rest overflow, 16 clients made it close and reopen
80-138 connections a second (issue 16), which measured the reconnects, not the SQL.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from typing import Any

from bench import hot_sql
from sqlalchemy import Connection, create_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "16"))
#: each statement in autocommit, as ours runs its hot reads (``db/async_reads.py``)
engine = create_engine(
    os.environ["BENCH_DATABASE_URL"],
    pool_size=POOL_SIZE,
    max_overflow=0,
    pool_pre_ping=True,
    isolation_level="AUTOCOMMIT",
)


def _rows(result: Any) -> list[dict[str, Any]]:
    return [{k: (str(v) if v is not None else None) for k, v in r._mapping.items()} for r in result]


def _credential(connection: Connection, request: Request) -> dict[str, Any] | None:
    """The credential look-up only: the expiry and last-use checks are the floor's."""
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    rows = _rows(
        connection.exec_driver_sql(
            hot_sql.named(hot_sql.SESSION_LOOKUP), {"token_hash": token_hash}
        )
    )
    return rows[0] if rows else None


def _user_id(connection: Connection, request: Request) -> str | None:
    user = _credential(connection, request)
    return None if user is None else user["id"]


UNAUTHENTICATED = JSONResponse({"error": "unauthenticated"}, status_code=401)


def me(request: Request) -> JSONResponse:
    with engine.connect() as connection:
        user = _credential(connection, request)
    return UNAUTHENTICATED if user is None else JSONResponse(user)


def usage(request: Request) -> JSONResponse:
    """The five statements' rows as they come (the floor builds our JSON from them)."""
    now = datetime.now(UTC)
    since = datetime(now.year, now.month, 1, tzinfo=UTC)
    with engine.connect() as connection:
        user_id = _user_id(connection, request)
        if user_id is None:
            return UNAUTHENTICATED
        values = {"user_id": user_id, "since": since}
        rows = [
            [str(v) for v in connection.exec_driver_sql(
                hot_sql.named(statement), {**values, **hot_sql.USAGE_CONSTANTS.get(statement, {})}
            ).one()]
            for statement in hot_sql.USAGE
        ]  # fmt: skip
    return JSONResponse({"rows": rows})


def list_projects(request: Request) -> JSONResponse:
    with engine.connect() as connection:
        user_id = _user_id(connection, request)
        if user_id is None:
            return UNAUTHENTICATED
        page = {"user_id": user_id, "page_limit": 21}
        items = _rows(connection.exec_driver_sql(hot_sql.named(hot_sql.PROJECT_PAGE), page))
    return JSONResponse({"items": items[:20], "next_cursor": None})


def get_project(request: Request) -> JSONResponse:
    project_id = request.path_params["id"]
    with engine.connect() as connection:
        user_id = _user_id(connection, request)
        if user_id is None:
            return UNAUTHENTICATED
        owned = {"project_id": project_id, "owner_id": user_id}
        project = _rows(
            connection.exec_driver_sql(hot_sql.named(hot_sql.PROJECT_WITH_OWNER), owned)
        )
        if not project:
            return JSONResponse({"error": "not found"}, status_code=404)
        latest = {"project_id": project_id, "param_1": 1}
        run = _rows(connection.exec_driver_sql(hot_sql.named(hot_sql.LATEST_RUN), latest))
        page = {"project_id": project_id, "page_limit": 51}
        generations = _rows(
            connection.exec_driver_sql(hot_sql.named(hot_sql.GENERATION_PAGE), page)
        )
    return JSONResponse(
        {
            **project[0],
            "generations": {"items": generations[:50]},
            "latest_run": run[0] if run else None,
        }
    )


app = Starlette(
    routes=[
        Route("/api/me", me),
        Route("/api/usage", usage),
        Route("/api/projects", list_projects),
        Route("/api/projects/{id}", get_project),
    ]
)
