"""The floor our stack adds to: the same SQL as our two hot endpoints, on the same driver
(psycopg 3 through a SQLAlchemy Core pool), served by bare Starlette with no ORM, no
validation and no dependency injection. Run with uvicorn: ``bench.bare_app:app``."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from sqlalchemy import create_engine, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

# the same pool settings as our server's defaults, pre-ping included
engine = create_engine(
    os.environ["BENCH_DATABASE_URL"], pool_size=5, max_overflow=10, pool_pre_ping=True
)

AUTH = text(
    "SELECT auth_sessions.*, users.* FROM auth_sessions JOIN users "
    "ON auth_sessions.user_id = users.id WHERE auth_sessions.token_hash = :h"
)
PROJECTS = text(
    "SELECT * FROM projects WHERE user_id = :u ORDER BY created_at DESC, id DESC LIMIT 21"
)
PROJECT = text(
    "SELECT projects.*, users.id AS owner_id, users.email AS owner_email, "
    "users.name AS owner_name FROM projects JOIN users ON projects.user_id = users.id "
    "WHERE projects.id = :p AND projects.user_id = :u"
)
GENERATIONS = text(
    "SELECT * FROM generations WHERE project_id = :p ORDER BY created_at DESC, id DESC LIMIT 51"
)


def _user_id(connection: Any, request: Request) -> str | None:
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    row = connection.execute(AUTH, {"h": hashlib.sha256(token.encode()).hexdigest()}).first()
    return None if row is None else str(row.user_id)


def _rows(result: Any) -> list[dict[str, Any]]:
    return [{k: (str(v) if v is not None else None) for k, v in r._mapping.items()} for r in result]


def list_projects(request: Request) -> JSONResponse:
    with engine.begin() as connection:
        user_id = _user_id(connection, request)
        if user_id is None:
            return JSONResponse({"error": "unauthenticated"}, status_code=401)
        items = _rows(connection.execute(PROJECTS, {"u": user_id}))
    return JSONResponse({"items": items[:20], "next_cursor": None})


def get_project(request: Request) -> JSONResponse:
    with engine.begin() as connection:
        user_id = _user_id(connection, request)
        if user_id is None:
            return JSONResponse({"error": "unauthenticated"}, status_code=401)
        project = _rows(connection.execute(PROJECT, {"p": request.path_params["id"], "u": user_id}))
        if not project:
            return JSONResponse({"error": "not found"}, status_code=404)
        generations = _rows(connection.execute(GENERATIONS, {"p": request.path_params["id"]}))
    return JSONResponse({**project[0], "generations": {"items": generations[:50]}})


app = Starlette(
    routes=[
        Route("/api/projects", list_projects),
        Route("/api/projects/{id}", get_project),
    ]
)
