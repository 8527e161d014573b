"""``uab serve``: the API server."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from appbuilder.cli._runtime import Database, console, err_console, open_database
from appbuilder.db import migrate
from appbuilder.services import runs
from appbuilder.settings import Environment, Settings

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

#: on shutdown, how long open requests (live-progress streams) may take to end
STREAM_SHUTDOWN_SECONDS = 5
#: with --workers N, a process that has not answered uvicorn's health check for this long is
#: killed and replaced. With uvicorn's 5 s a worker vanished mid-run on the loaded 2-core
#: VM (load 10-12), most likely killed so, with its requests; 30 s did not lose one since
WORKER_HEALTHCHECK_SECONDS = 30
#: on PostgreSQL `--workers` defaults to one process per core, at most this many
MAX_AUTO_WORKERS = 4
#: PostgreSQL connections left to others when choosing the default number of processes
#: (`uab worker`s, migrations, an operator's psql)
SPARE_CONNECTIONS = 10


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Server processes. Default: 1 on SQLite (its writers take turns, and each "
            "process runs its own embedded queue); on PostgreSQL one per CPU core, at most "
            f"{MAX_AUTO_WORKERS}, and no more than the server's max_connections holds "
            "(each process keeps up to UAB_DATABASE_POOL_SIZE + UAB_DATABASE_MAX_OVERFLOW "
            "connections, and one to listen for run events).",
            show_default=False,
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            envvar="UAB_FORWARDED_ALLOW_IPS",
            help="Proxies whose X-Forwarded-For is trusted (comma-separated; default none). "
            "Log-in throttling counts per client address, so only trust your own proxy.",
        ),
    ] = "",
    migrate_first: Annotated[
        bool | None,
        typer.Option(
            "--migrate/--no-migrate",
            help="Apply migrations before serving (default: only in development).",
        ),
    ] = None,
) -> None:
    """Run the REST API (OpenAPI at /openapi.json, interactive docs at /docs).

    It runs on uvloop and httptools where they are installed (they are dependencies,
    except uvloop on Windows and PyPy), else on asyncio and h11; the first line says which."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    settings, budget = _prepare(migrate_first)
    workers = _workers(settings, budget, workers)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "proxy_headers": bool(forwarded_allow_ips),
        "forwarded_allow_ips": forwarded_allow_ips or None,
        # a stream that didn't end by itself is cut then; clients reconnect and resume
        "timeout_graceful_shutdown": STREAM_SHUTDOWN_SECONDS,
    }
    loop, parser = loop_and_parser(uvicorn.Config("appbuilder.web.app:create_app", **options))
    processes = f"{workers} processes" if workers > 1 else "1 process"
    console.print(
        f"Serving on http://{host}:{port} (docs at /docs): {processes}, {loop} + {parser}.",
        highlight=False,
    )
    if loop == "asyncio" or parser == "h11":
        console.print(
            "(uvloop and httptools, where they install, take less CPU per request.)",
            highlight=False,
        )
    if workers > 1:
        uvicorn.run(
            f"{__name__}:worker_app",
            factory=True,
            workers=workers,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
            **options,
        )
        return
    _serve_one(settings, options)


def _serve_one(settings: Settings, options: dict[str, Any]) -> None:
    """One process: on the first signal the app's open event streams end at their next
    poll (its ``shutting_down`` flag), before uvicorn waits for open requests."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    from appbuilder.web.app import create_app  # noqa: PLC0415 - only this command serves

    app = create_app(settings)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            _end_streams(app)
            super().handle_exit(sig, frame)

    Server(uvicorn.Config(app, **options)).run()


def worker_app() -> FastAPI:
    """The app of one of `uab serve --workers N`'s processes. uvicorn calls this in the
    process once its own signal handlers are in place; on a signal the app's open event
    streams end first (as with one process), else uvicorn would cut them after
    ``STREAM_SHUTDOWN_SECONDS``, mid-answer."""
    from appbuilder.web.app import create_app  # noqa: PLC0415 - only this command serves

    app = create_app()
    if threading.current_thread() is threading.main_thread():  # where signals are handled
        for sig in (signal.SIGINT, signal.SIGTERM):
            uvicorns = signal.getsignal(sig)
            if callable(uvicorns):
                signal.signal(sig, _ending_streams_first(app, uvicorns))
    return app


def _ending_streams_first(
    app: FastAPI, then: Callable[[int, FrameType | None], Any]
) -> Callable[[int, FrameType | None], None]:
    def handle(sig: int, frame: FrameType | None) -> None:
        _end_streams(app)
        then(sig, frame)

    return handle


def _end_streams(app: FastAPI) -> None:
    app.state.shutting_down.set()
    if app.state.notices is not None:  # streams waiting for a notice end now too
        app.state.notices.wake_all_soon()


def loop_and_parser(config: uvicorn.Config) -> tuple[str, str]:
    """The event loop and HTTP parser uvicorn runs ``config`` on, resolved as uvicorn
    resolves them ("auto": uvloop and httptools when they import): e.g. ("uvloop", "httptools")
    or ("asyncio", "h11")."""
    from uvicorn.config import HTTP_PROTOCOLS  # noqa: PLC0415 - only this command serves
    from uvicorn.importer import import_from_string  # noqa: PLC0415

    factory = config.get_loop_factory()
    loop = (factory.__module__ if factory is not None else "asyncio").split(".")[0]
    protocol = config.http
    if isinstance(protocol, str):
        protocol = import_from_string(HTTP_PROTOCOLS.get(protocol, protocol))
    parser = protocol.__module__.rsplit(".", 1)[-1].removesuffix("_impl")
    return loop, parser


def default_workers(settings: Settings, budget: int | None) -> int:
    """1 on SQLite; on PostgreSQL one process per core (at most ``MAX_AUTO_WORKERS``) that
    the server's connection ``budget`` holds, each with its whole pools and its listener."""
    if settings.database.is_sqlite:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    fits = MAX_AUTO_WORKERS if budget is None else budget // _connections_per_process(settings)
    return max(1, min(cores or 1, MAX_AUTO_WORKERS, fits))


def _connections_per_process(settings: Settings) -> int:
    """The engine's pool, the run-event listener and, on PostgreSQL, the hot reads' pool."""
    database = settings.database
    reads = database.async_pool_size if database.uses_async_reads else 0
    return database.pool_size + database.max_overflow + 1 + reads


def _workers(settings: Settings, budget: int | None, asked: int | None) -> int:
    if asked is None:
        return default_workers(settings, budget)
    needed = asked * _connections_per_process(settings)
    if budget is not None and not settings.database.is_sqlite and needed > budget:
        err_console.print(
            f"[yellow]{asked} processes may open up to {needed} connections[/], more than "
            f"the {budget} PostgreSQL leaves (max_connections, less the reserved ones and "
            f"{SPARE_CONNECTIONS} for others): a burst may be refused connections. Lower "
            "UAB_DATABASE_POOL_SIZE / UAB_DATABASE_MAX_OVERFLOW / "
            "UAB_DATABASE_ASYNC_POOL_SIZE or --workers."
        )
    return asked


def _prepare(migrate_first: bool | None) -> tuple[Settings, int | None]:
    """Migrations (by default only in development), a word when no worker is seen; the
    settings and how many connections PostgreSQL leaves to our server (None: unknown)."""
    with open_database() as db:
        if (
            migrate_first
            if migrate_first is not None
            else db.settings.env is Environment.DEVELOPMENT
        ):
            migrate.upgrade(db.engine)
            console.print(f"Database at revision {migrate.current_revision(db.engine)}.")
        _warn_without_workers(db)
        return db.settings, _connection_budget(db)


def _connection_budget(db: Database) -> int | None:
    """PostgreSQL's max_connections less its reserved ones and ``SPARE_CONNECTIONS``."""
    if db.settings.database.is_sqlite:
        return None
    try:
        with db.engine.connect() as connection:
            total = connection.execute(
                text(
                    "SELECT current_setting('max_connections')::int"
                    " - current_setting('superuser_reserved_connections')::int"
                )
            ).scalar_one()
    except SQLAlchemyError:  # unreachable now: readiness says so
        return None
    return max(0, int(total) - SPARE_CONNECTIONS)


def _warn_without_workers(db: Database) -> None:
    """On PostgreSQL, runs wait for a `uab worker`: say so at start when none is alive."""
    try:
        alive = runs.workers_alive(db.settings, db.sessions)
    except SQLAlchemyError:  # no schema yet: readiness says so
        return
    if alive == 0:
        err_console.print(
            "[yellow]No worker is running:[/] queued runs wait until one starts "
            "(`uab worker`, on this or another machine)."
        )
