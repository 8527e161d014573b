"""The FastAPI application: ``create_app()`` builds it from settings, so tests and
``uab serve`` run exactly the same app."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from appbuilder import __version__
from appbuilder.db import migrate
from appbuilder.db.async_reads import AsyncReads
from appbuilder.db.session import make_engine, make_session_factory
from appbuilder.jobs import setup
from appbuilder.llm import client
from appbuilder.logs import configure_logging
from appbuilder.services import auth, deployments
from appbuilder.services.runs.notices import EventNotices
from appbuilder.settings import Environment, Settings, get_settings
from appbuilder.web.api import (
    admin,
    billing,
    files,
    health,
    keys,
    me_llm,
    plans,
    projects,
    repository,
    runs,
    usage,
)
from appbuilder.web.api import auth as auth_api
from appbuilder.web.api import deployments as deployments_api
from appbuilder.web.errors import COMMON_RESPONSES, install_error_handlers
from appbuilder.web.hot_routes import install_hot_routes
from appbuilder.web.limits import BodySizeLimitMiddleware
from appbuilder.web.observability import RequestIdMiddleware
from appbuilder.web.openapi import document_credentials
from appbuilder.web.streams import StreamSlots
from appbuilder.web.ui import install_ui

#: threads that only commit and close sessions: never wait for a connection, so a few do
FINISHING_THREADS = 8

DESCRIPTION = """
Describe an application; a team of agents builds it, proves it works, and ships it.

**Authentication**: send `Authorization: Bearer <credential>` with either a session token
(from `POST /api/auth/login`) or an API key (from `POST /api/keys`). API keys carry scopes
(`projects:read`, `projects:write`, `generations:read`, `generations:write`, `keys:manage`,
`admin`); a session has every scope its user's role allows.

**Errors** always look like `{"error": {"code", "message", "details"}}`; validation errors
list each bad field in `details.fields`. Every response carries an `X-Request-ID` header.
"""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the embedded queue with the server; on shutdown give its runs the grace time."""
    database = app.state.settings.database
    reads = AsyncReads(database) if database.uses_async_reads else None
    if reads is not None:
        await reads.open()
    #: the hot reads' async pool on PostgreSQL (``web.one_hop``); None: they take a thread
    app.state.async_reads = reads
    try:
        async with _background_work(app):
            if app.state.settings.env is not Environment.TEST:
                _freeze_start_up_heap()
            yield
    finally:
        app.state.async_reads = None
        if reads is not None:
            await reads.close()
        app.state.engine.dispose()


@asynccontextmanager
async def _background_work(app: FastAPI) -> AsyncIterator[None]:
    """The queue's runner, the watchers and the run-event listener, for the server's life."""
    runner = app.state.runner
    if runner is not None:
        runner.start()
    app.state.unclaimed.start()
    app.state.deployments.start()
    notices = app.state.notices
    if notices is not None:
        notices.start()
    provider = app.state.settings.llm.provider
    if provider is not None:
        threading.Thread(
            target=client.warm_up, args=(provider,), daemon=True, name="uab-llm-import"
        ).start()
    yield
    app.state.shutting_down.set()
    if notices is not None:
        await notices.stop()
    app.state.deployments.stop()
    app.state.unclaimed.stop()
    if runner is not None:
        await run_in_threadpool(runner.stop, app.state.settings.run_shutdown_grace_seconds)


def _freeze_start_up_heap() -> None:
    """What start-up loaded (the app, its models and schemas, SQLAlchemy's metadata, the
    libraries) lives as long as the process: once frozen, the collector's full collections
    skip it. Under load they came every ~2 s and walked all of it, 110-120 ms each with the
    event loop stopped: the API's p99 (bench/README.md). Frozen: 1.5 ms. Not in tests, whose
    processes start and drop many apps (a dropped frozen cycle is never collected)."""
    gc.collect()
    gc.freeze()


def _attach_state(app: FastAPI, settings: Settings) -> None:
    """What routes reach through ``app.state``: settings, database, the queue's hand-off."""
    engine = make_engine(settings.database)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.state.head_revision = migrate.head_revision()
    app.state.async_reads = None  # opened with the app (its lifespan)
    # The embedded queue runs jobs in this process; with procrastinate, workers do.
    runner = (
        None if settings.uses_procrastinate else setup.embedded_runner(settings, app.state.sessions)
    )
    app.state.runner = runner
    app.state.dispatcher = setup.dispatcher(settings, runner)
    app.state.unclaimed = setup.UnclaimedWatcher(settings)
    #: runs deployments in the background; watches (and after a restart re-adopts) live apps
    app.state.deployments = deployments.Supervisor(
        deployments.DeployContext(
            app.state.sessions, settings.projects_dir, settings.deployments_dir
        )
    )
    #: set when the server begins to shut down: open live-progress streams end
    app.state.shutting_down = threading.Event()
    app.state.streams = StreamSlots(settings.max_streams_per_user)
    #: the threads that commit and close requests' sessions, and a place per connection
    #: the pool has, taken before a request's session or a stream's read (``deps.get_session``)
    app.state.finishing = anyio.CapacityLimiter(FINISHING_THREADS)
    #: threads for planning from words (each waits for a model): anyio's 40 stay for the rest
    app.state.planning = anyio.CapacityLimiter(settings.max_plans_at_once)
    app.state.db_gate = asyncio.BoundedSemaphore(
        settings.database.pool_size + settings.database.max_overflow
    )
    #: what wakes the streams on PostgreSQL (None: they poll)
    app.state.notices = None if settings.database.is_sqlite else EventNotices(settings.database.url)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check()
    json_lines = settings.log_json
    configure_logging(
        json_lines=json_lines if json_lines is not None else settings.env is Environment.PRODUCTION
    )
    app = FastAPI(
        title="Ultimate App Builder",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan,
        responses=COMMON_RESPONSES,
    )
    auth.prepare()
    _attach_state(app, settings)
    install_error_handlers(app)
    modules = (
        health,
        auth_api,
        me_llm,
        keys,
        projects,
        deployments_api,
        runs,
        plans,
        files,
        repository,
        usage,
        billing,
        admin,
    )
    for module in modules:
        app.include_router(module.router)
    # ahead of every route (web.hot_routes); their FastAPI routes stay, for OpenAPI and HEAD
    hot = (
        auth_api.me,
        usage.usage,
        projects.list_projects,
        projects.get_project,
        runs.run_events,
        files.list_files,
    )
    install_hot_routes(app, hot)
    install_ui(app, settings)
    document_credentials(app, (module.router for module in modules))
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(RequestIdMiddleware)  # outermost: every response carries the id
    return app
