"""The floor our API is measured against: the same SQL as our hot read routes
(bench/hot_sql.py, captured from our server), on asyncpg with prepared statements, served by
plain Starlette with no ORM, no validation and no dependency injection, answering the same
JSON. What our stack costs on top of the database and the HTTP server is ours minus this.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/uab_bench \\
        python -m bench.async_floor --port 8001            # asyncio + h11
        python -m bench.async_floor --port 8001 --fast     # uvloop + httptools

Routes: ``GET /api/me``, ``GET /api/usage``, ``GET /api/projects?limit=N``,
``GET /api/projects/{id}?generations_limit=N``, ``GET /api/projects/{id}/files`` (the
repositories under ``BENCH_PROJECTS_DIR``), ``GET /api/runs/{id}/events`` (finished runs)
with a session token (``Authorization:
Bearer uabs_...``). Each statement runs in autocommit, like ours since 2026-11-30 (no BEGIN
and COMMIT around a request's statements: ``db/async_reads.py`` says why). asyncpg prepares
each statement once per connection and reuses it (its statement cache); the pool holds as
many connections as the benchmark has clients (``BENCH_POOL_SIZE``, default 16), so no
request waits for or opens a connection, and nothing is sent when a connection returns to
it (nor by ours). Cursors
(``?cursor=``) are not served: the benchmark reads first pages only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import re
import subprocess
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
from bench import hot_sql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from appbuilder.enums import ProjectStatus, ProjectTemplate
from appbuilder.services.project_lifecycle import next_actions, user_next_statuses
from appbuilder.services.quotas import COUNTED_LIMITS, effective_tier, limits_for, month_start

POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "16"))
#: where the projects' git repositories are (ours' ``UAB_PROJECTS_DIR``)
PROJECTS_DIR = Path(os.environ.get("BENCH_PROJECTS_DIR", "projects"))
MAX_PAGE = 100  # our services.pagination.MAX_PAGE_SIZE

# Our projects carry two fields computed from their status; a table built once from our own
# rules keeps the floor's answers equal to ours without any per-request work beyond a lookup.
NEXT = {
    status.value: ([s.value for s in user_next_statuses(status)], next_actions(status))
    for status in ProjectStatus
}


def _statement(statement: hot_sql.Statement, *names: str) -> str:
    """Each statement's parameters in the order the handlers pass them, checked at start."""
    if statement.names != names:
        raise RuntimeError(f"expected parameters {names}, the statement has {statement.names}")
    return statement.sql


SESSION_LOOKUP = _statement(hot_sql.SESSION_LOOKUP, "token_hash")
TOUCH_SESSION = _statement(hot_sql.TOUCH_SESSION, "now", "row_id")
PROJECT_PAGE = _statement(hot_sql.PROJECT_PAGE, "user_id", "page_limit")
PROJECT_WITH_OWNER = _statement(hot_sql.PROJECT_WITH_OWNER, "project_id", "owner_id")
LATEST_RUN = _statement(hot_sql.LATEST_RUN, "project_id", "param_1")
GENERATION_PAGE = _statement(hot_sql.GENERATION_PAGE, "project_id", "page_limit")
RUN_OF_OWNER = _statement(hot_sql.RUN_OF_OWNER, "run_id", "owner_id")
RUN_EVENTS = _statement(hot_sql.RUN_EVENTS, "run_id", "after", "param_1")
PROJECT_OF_OWNER = _statement(hot_sql.PROJECT_OF_OWNER, "project_id", "owner_id")
LATEST_COMMIT = _statement(hot_sql.LATEST_COMMIT, "project_id", "status_1", "param_1")
#: each usage statement, its parameters' names in order, and the constants it binds
#: itself as ours does (``hot_sql.USAGE_CONSTANTS``)
USAGE = [
    (statement.sql, statement.names, hot_sql.USAGE_CONSTANTS.get(statement, {}))
    for statement in hot_sql.USAGE
]


class FloorJSON(JSONResponse):
    """Starlette's JSON (as compact as FastAPI's), with times and decimals written the way
    pydantic writes them, so the bodies equal ours byte for byte in content."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_plain
        ).encode("utf-8")


def _plain(value: object) -> str:
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _cursor(row: Mapping[str, Any]) -> str:
    """Our services.pagination.encode_cursor for the newest-first sorts."""
    raw = json.dumps(["-created_at", row["created_at"].isoformat(), row["id"]]).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _page(rows: list[asyncpg.Record], limit: int, item: Callable[[Any], dict[str, Any]]) -> Any:
    items = rows[:limit]
    more = len(rows) > limit
    return {"items": [item(r) for r in items], "next_cursor": _cursor(items[-1]) if more else None}


def _project(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "template": row["template"],
        "status": row["status"],
        "config": row["config"],
        "features": row["features"],
        "repository_url": row["repository_url"],
        "repository_error": row["repository_error"],
        "deployment_url": row["deployment_url"],
        "llm_model": row["llm_model"],
        "user_id": row["user_id"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "deployed_at": row["deployed_at"],
    }


def _listed_project(row: Mapping[str, Any]) -> dict[str, Any]:
    allowed, actions = NEXT[row["status"]]
    return {**_project(row), "allowed_next_statuses": allowed, "next_actions": actions}


_GENERATION = (
    "id", "project_id", "user_id", "agent_type", "prompt", "response", "status",
    "tokens_used", "model", "input_tokens", "output_tokens", "cost_usd", "duration_ms",
    "error_message", "created_at", "completed_at", "run_id",
)  # fmt: skip
_RUN = (
    "id", "project_id", "user_id", "status", "previous_status", "spec_hash", "verify",
    "cancel_requested", "attempts", "error_message", "platform_failure", "tree_hash",
    "commit_sha", "files_count", "rollback_of", "created_at", "started_at", "finished_at",
)  # fmt: skip
_USER = (
    "id", "email", "name", "avatar", "role", "subscription_tier", "subscription_status",
    "created_at", "last_login_at",
)  # fmt: skip


def _generation(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in _GENERATION}


async def _principal(connection: Any, request: Request) -> asyncpg.Record | None:
    """Our services.auth for a session token: the look-up by the token's hash, the checks,
    and the last-use UPDATE at most once a minute."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.startswith("uabs_"):
        return None
    token_hash = hashlib.sha256(token.strip().encode("utf-8")).hexdigest()
    row: asyncpg.Record | None = await connection.fetchrow(SESSION_LOOKUP, token_hash)
    now = datetime.now(UTC)
    if (
        row is None
        or row["credential_revoked_at"] is not None
        or row["credential_expires_at"] <= now
    ):
        return None
    last_used = row["credential_last_used_at"]
    if last_used is None or now - last_used >= hot_sql.TOUCH_INTERVAL:
        await connection.execute(TOUCH_SESSION, now, row["credential_id"])
    return row


UNAUTHENTICATED = FloorJSON({"detail": "not authenticated"}, status_code=401)


def _limit(request: Request, name: str, default: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        return None
    return int(raw)


def _bad(name: str) -> FloorJSON:
    return FloorJSON({"detail": f"{name} must be between 1 and {MAX_PAGE}"}, status_code=422)


async def me(request: Request) -> FloorJSON:
    async with request.app.state.pool.acquire() as connection:
        user = await _principal(connection, request)
    if user is None:
        return UNAUTHENTICATED
    return FloorJSON({key: user[key] for key in _USER})


async def usage(request: Request) -> FloorJSON:
    since = month_start()
    async with request.app.state.pool.acquire() as connection:
        user = await _principal(connection, request)
        if user is None:
            return UNAUTHENTICATED
        values: dict[str, Any] = {"user_id": user["id"], "since": since}
        rows = [
            await connection.fetchrow(text, *({**values, **constants}[n] for n in names))
            for text, names, constants in USAGE
        ]
    projects, runs, tokens, live, costs = rows
    used = {
        "projects": projects[0],
        "generations_per_month": runs[0],
        "tokens_per_month": int(tokens[0]),
        "concurrent_generations": runs[1],
        "live_deployments": live[0],
    }
    subscriber = _Subscriber(user)
    limits = limits_for(subscriber)
    return FloorJSON(
        {
            "tier": str(effective_tier(subscriber)),
            "period_start": since,
            "limits": [
                {"limit": name, "used": used[name], "allowed": getattr(limits, name)}
                for name in COUNTED_LIMITS
            ],
            "templates": [t.value for t in ProjectTemplate if t in limits.templates],
            "deploy_targets": sorted(limits.deploy_targets),
            "cost_usd": costs[0],
            "calls_of_unknown_cost": costs[1],
        }
    )


class _Subscriber:
    """The columns our tier rules read, from the credential's row."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        self.id = row["id"]
        self.subscription_tier = row["subscription_tier"]
        self.subscription_status = row["subscription_status"]
        self.subscription_grace_ends_at = row["subscription_grace_ends_at"]


async def list_projects(request: Request) -> FloorJSON:
    limit = _limit(request, "limit", 20)
    if limit is None or "cursor" in request.query_params:
        return _bad("limit")
    async with request.app.state.pool.acquire() as connection:
        user = await _principal(connection, request)
        if user is None:
            return UNAUTHENTICATED
        rows = await connection.fetch(PROJECT_PAGE, user["id"], limit + 1)
    return FloorJSON(_page(rows, limit, _listed_project))


async def get_project(request: Request) -> FloorJSON:
    limit = _limit(request, "generations_limit", 50)
    if limit is None or "generations_cursor" in request.query_params:
        return _bad("generations_limit")
    project_id = request.path_params["project_id"]
    async with request.app.state.pool.acquire() as connection:
        user = await _principal(connection, request)
        if user is None:
            return UNAUTHENTICATED
        project = await connection.fetchrow(PROJECT_WITH_OWNER, project_id, user["id"])
        if project is None:
            return FloorJSON({"detail": "project not found"}, status_code=404)
        run = await connection.fetchrow(LATEST_RUN, project_id, 1)
        generations = await connection.fetch(GENERATION_PAGE, project_id, limit + 1)
    allowed, actions = NEXT[project["status"]]
    return FloorJSON(
        {
            **_project(project),
            "user": {
                "id": project["user_id"],
                "email": project["email"],
                "name": project["owner_name"],
            },
            "generations": _page(generations, limit, _generation),
            "latest_run": None if run is None else {key: run[key] for key in _RUN},
            "allowed_next_statuses": allowed,
            "next_actions": actions,
        }
    )


async def run_events(request: Request) -> Response:
    """A finished run's stream: the frames ours sends, in one body (ours streams them as
    it reads; for a finished run that is one read). Runs still going are not served."""
    raw = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    if not raw.isdigit():
        return _bad("after")
    run_id = request.path_params["run_id"]
    async with request.app.state.pool.acquire() as connection:
        user = await _principal(connection, request)
        if user is None:
            return UNAUTHENTICATED
        if await connection.fetchrow(RUN_OF_OWNER, run_id, user["id"]) is None:
            return FloorJSON({"detail": "run not found"}, status_code=404)
        rows = await connection.fetch(RUN_EVENTS, run_id, int(raw), hot_sql.EVENTS_PER_READ)
    frames = [b"retry: 1000\n\n"]
    for row in rows:
        data = json.dumps(row["data"], ensure_ascii=True, separators=(",", ":"))
        frames.append(f"id: {row['seq']}\nevent: {row['kind']}\ndata: {data}\n\n".encode())
        if row["kind"] == "finished":
            break
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return Response(b"".join(frames), media_type="text/event-stream", headers=headers)


#: ours' git settings: no system or user configuration, messages in English
GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}


async def files(request: Request) -> FloorJSON:
    """The project's latest completed run's files: the same two statements, then the same
    ``git ls-tree`` on its recorded commit, run from a worker thread (``subprocess.run``
    there costs half the CPU of asyncio's subprocess transport: 4 ms against 8 here)."""
    project_id = request.path_params["project_id"]
    if not project_id.isalnum():
        return FloorJSON({"detail": "project not found"}, status_code=404)
    async with request.app.state.pool.acquire() as connection:
        user = await _principal(connection, request)
        if user is None:
            return UNAUTHENTICATED
        if await connection.fetchrow(PROJECT_OF_OWNER, project_id, user["id"]) is None:
            return FloorJSON({"detail": "project not found"}, status_code=404)
        run = await connection.fetchrow(LATEST_COMMIT, project_id, "COMPLETED", 1)
    if run is None:
        return FloorJSON({"detail": "no completed run"}, status_code=404)
    git = await asyncio.to_thread(
        subprocess.run,
        ("git", "ls-tree", "-r", "-l", "-z", "--full-tree", run["commit_sha"]),
        cwd=PROJECTS_DIR / project_id,
        env=GIT_ENV,
        capture_output=True,
        check=False,
    )
    if git.returncode != 0:
        return FloorJSON({"detail": "commit not found"}, status_code=404)
    listed = []
    for line in git.stdout.split(b"\0"):
        if line:
            meta, path = line.split(b"\t", 1)
            listed.append({"path": path.decode("utf-8", "replace"), "size": int(meta.split()[3])})
    return FloorJSON({"commit": run["commit_sha"], "files": listed})


async def _json_columns(connection: asyncpg.Connection) -> None:
    """jsonb as Python values, as SQLAlchemy's JSON type gives ours."""
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


async def _as_left(connection: asyncpg.Connection) -> None:
    """asyncpg resets a connection on its return to the pool (advisory locks, cursors,
    listeners, settings: one more round trip per request). A request here only runs
    statements in autocommit, which leave nothing to reset; ours (``db/async_reads.py``)
    skips the reset for the same reason."""


def database_url() -> str:
    """The same URL the other servers take, without SQLAlchemy's driver suffix."""
    url = os.environ["BENCH_DATABASE_URL"]
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    async with asyncpg.create_pool(
        database_url(),
        min_size=POOL_SIZE,
        max_size=POOL_SIZE,
        init=_json_columns,
        reset=_as_left,
    ) as pool:
        app.state.pool = pool
        yield


app = Starlette(
    routes=[
        Route("/api/me", me),
        Route("/api/usage", usage),
        Route("/api/projects", list_projects),
        Route("/api/projects/{project_id}", get_project),
        Route("/api/projects/{project_id}/files", files),
        Route("/api/runs/{run_id}/events", run_events),
    ],
    lifespan=lifespan,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument(
        "--fast", action="store_true", help="uvloop + httptools (default: asyncio + h11)"
    )
    args = parser.parse_args()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop" if args.fast else "asyncio",
        http="httptools" if args.fast else "h11",
        access_log=False,
        server_header=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
