"""``uab serve``: the API server."""

from __future__ import annotations

from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlalchemy.exc import SQLAlchemyError

from appbuilder.cli._runtime import Database, console, err_console, open_database
from appbuilder.db import migrate
from appbuilder.services import runs
from appbuilder.settings import Environment, Settings

if TYPE_CHECKING:
    import uvicorn

#: on shutdown, how long open requests (live-progress streams) may take to end
STREAM_SHUTDOWN_SECONDS = 5


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes.")] = 1,
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

    settings = _prepare(migrate_first)
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
        uvicorn.run("appbuilder.web.app:create_app", factory=True, workers=workers, **options)
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
            app.state.shutting_down.set()
            if app.state.notices is not None:  # streams waiting for a notice end now too
                app.state.notices.wake_all_soon()
            super().handle_exit(sig, frame)

    Server(uvicorn.Config(app, **options)).run()


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


def _prepare(migrate_first: bool | None) -> Settings:
    """Migrations (by default only in development), and a word when no worker is seen."""
    with open_database() as db:
        if (
            migrate_first
            if migrate_first is not None
            else db.settings.env is Environment.DEVELOPMENT
        ):
            migrate.upgrade(db.engine)
            console.print(f"Database at revision {migrate.current_revision(db.engine)}.")
        _warn_without_workers(db)
        return db.settings


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
