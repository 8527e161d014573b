"""Where `/api/me`'s server CPU goes, by design: issue 16's choice of a driver and a threading
model, measured one layer at a time on the same SQL and the same JSON.

    python bench/me_design.py postgresql+psycopg://postgres@127.0.0.1:5432/uab_me?sslmode=disable
    python bench/me_design.py URL --fast     # every server on uvloop + httptools

The database is reset and seeded as `bench/hot_cpu.py` seeds it. Then each variant runs as
its own uvicorn process and `/api/me` is driven over 4 keep-alive connections, variants
alternating (which goes first alternating too), `ROUNDS` (5) rounds of `REQUESTS` (3000);
the server's CPU time per request (from /proc) is reported, and the floor's over it:

- ``ours``: `uab serve`'s app (FastAPI, SQLAlchemy on psycopg's sync driver, one
  worker-thread round trip per request, the ORM user, pre-ping, our middleware);
- ``asyncpg``: `bench/async_floor.py`, the floor (Starlette, asyncpg, prepared statements);
- ``psycopg``: the floor's handler on psycopg's async driver (an `AsyncConnectionPool` of
  16, prepared statements, dict rows), on the event loop, no thread;
- ``psycopg+fastapi``: that handler as a FastAPI route taking only the `Request`;
- ``+credential``: with our credential dependency's shape (two `HTTPBearer` schemes under
  one dependency);
- ``+middleware``: with our request-id/access-log and body-limit middleware (JSON access
  lines to a discarded stderr, as `UAB_ENV=production` writes them).

Run one variant alone with ``--serve NAME --port N``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import statistics
import sys
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import uvicorn  # noqa: E402
from bench import hot_cpu, hot_sql  # noqa: E402
from bench.async_floor import _USER, UNAUTHENTICATED, FloorJSON  # noqa: E402
from bench.serving import SECRET, served  # noqa: E402
from fastapi import Depends, FastAPI, Request, Security  # noqa: E402
from fastapi.responses import Response  # noqa: E402
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer  # noqa: E402
from psycopg import AsyncConnection  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402
from psycopg_pool import AsyncConnectionPool  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Route  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "5"))
REQUESTS = int(os.environ.get("REQUESTS", "3000"))
VARIANTS = ("ours", "asyncpg", "psycopg", "psycopg+fastapi", "+credential", "+middleware")


async def _principal(connection: AsyncConnection[Any], request: Request) -> Any:
    """The floor's `_principal` (our services.auth for a session token) on psycopg."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.startswith("uabs_"):
        return None
    token_hash = hashlib.sha256(token.strip().encode("utf-8")).hexdigest()
    found = await connection.execute(
        hot_sql.named(hot_sql.SESSION_LOOKUP), {"token_hash": token_hash}, prepare=True
    )
    row = await found.fetchone()
    now = datetime.now(UTC)
    if (
        row is None
        or row["credential_revoked_at"] is not None
        or row["credential_expires_at"] <= now
    ):
        return None
    last_used = row["credential_last_used_at"]
    if last_used is None or now - last_used >= hot_sql.TOUCH_INTERVAL:
        touch = {"now": now, "row_id": row["credential_id"]}
        await connection.execute(hot_sql.named(hot_sql.TOUCH_SESSION), touch, prepare=True)
    return row


async def _me(request: Request) -> Response:
    pool: AsyncConnectionPool[AsyncConnection[Any]] = request.app.state.pool
    async with pool.connection() as connection, connection.transaction():
        user = await _principal(connection, request)
    if user is None:
        return UNAUTHENTICATED
    return FloorJSON({key: user[key] for key in _USER})


@asynccontextmanager
async def _pool(app: Starlette) -> AsyncIterator[None]:
    url = re.sub(r"^postgresql\+\w+://", "postgresql://", os.environ["BENCH_DATABASE_URL"])
    async with AsyncConnectionPool(
        url,
        min_size=16,
        max_size=16,
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
    ) as pool:
        app.state.pool = pool
        yield


_session_scheme = HTTPBearer(scheme_name="SessionToken", auto_error=False)
_key_scheme = HTTPBearer(scheme_name="ApiKey", auto_error=False)
_SessionToken = Annotated[HTTPAuthorizationCredentials | None, Security(_session_scheme)]
_ApiKey = Annotated[HTTPAuthorizationCredentials | None, Security(_key_scheme)]


async def _bearer(session_token: _SessionToken, api_key: _ApiKey) -> str:
    found = session_token or api_key
    return found.credentials if found else ""


def app_for(variant: str) -> Starlette:
    """The app a psycopg variant serves."""
    if variant == "psycopg":
        return Starlette(routes=[Route("/api/me", _me)], lifespan=_pool)
    app = FastAPI(lifespan=_pool)
    if variant == "psycopg+fastapi":

        @app.get("/api/me")
        async def me(request: Request) -> Response:
            return await _me(request)

        return app

    @app.get("/api/me")
    async def me_with_credential(request: Request, _: Annotated[str, Depends(_bearer)]) -> Response:
        return await _me(request)

    if variant == "+middleware":
        from appbuilder.logs import configure_logging  # noqa: PLC0415 - this variant only
        from appbuilder.web.limits import BodySizeLimitMiddleware  # noqa: PLC0415
        from appbuilder.web.observability import RequestIdMiddleware  # noqa: PLC0415

        configure_logging(json_lines=True)
        app.add_middleware(BodySizeLimitMiddleware, max_bytes=1_000_000)
        app.add_middleware(RequestIdMiddleware)
    return app


def command(variant: str, fast: bool) -> tuple[list[str], dict[str, str]]:
    """How a variant is started: the same loop and HTTP parser for every one."""
    if variant == "ours":
        loop = ["--loop", "uvloop", "--http", "httptools"] if fast else ["--loop", "asyncio"]
        flags = ["--no-access-log", "--no-server-header", "--log-level", "warning", *loop]
        if not fast:
            flags += ["--http", "h11"]
        app = ["-m", "uvicorn", "--factory", "appbuilder.web.app:create_app"]
        return [sys.executable, *app, *flags], {"UAB_ENV": "production", "UAB_SECRET_KEY": SECRET}
    speed = ["--fast"] if fast else []
    if variant == "asyncpg":
        return [sys.executable, "-m", "bench.async_floor", *speed], {}
    return [sys.executable, __file__, "--serve", variant, *speed], {}


def compare(url: str, fast: bool) -> None:
    token, _ = hot_cpu.seed(url)
    env = {"BENCH_DATABASE_URL": url, "UAB_DATABASE_URL": url}
    figures: dict[str, list[float]] = {}
    with ExitStack() as stack:
        servers = []
        for variant in VARIANTS:
            argv, extra = command(variant, fast)
            ready = "/healthz" if variant == "ours" else "/api/me"
            port, pid = stack.enter_context(served(argv, {**env, **extra}, ready=ready))
            servers.append(hot_cpu.Server(variant, port, pid))
        for server in servers:  # warm up: imports, prepared statements, pools
            hot_cpu.drive(server, "/api/me", token, 400)
        for index in range(ROUNDS):
            line = []
            for server in servers if index % 2 == 0 else servers[::-1]:
                cpu = hot_cpu.drive(server, "/api/me", token, REQUESTS)
                figures.setdefault(server.name, []).append(cpu)
                line.append(f"{server.name} {cpu:.3f}")
            print(f"round {index + 1}: " + ", ".join(line), flush=True)
    floor = statistics.median(figures["asyncpg"])
    print(f"\n/api/me, server CPU ms per request, median of {ROUNDS} rounds ({REQUESTS} requests):")
    for name in VARIANTS:
        median = statistics.median(figures[name])
        print(f"{name:18} {median:7.3f}   floor / this {floor / median:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--fast", action="store_true", help="uvloop + httptools")
    parser.add_argument("--serve", choices=VARIANTS[2:])
    parser.add_argument("--port", type=int, default=8002)
    args = parser.parse_args()
    if args.serve is None:
        compare(args.url, args.fast)
        return
    uvicorn.run(
        app_for(args.serve),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop" if args.fast else "asyncio",
        http="httptools" if args.fast else "h11",
        access_log=False,
        server_header=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
