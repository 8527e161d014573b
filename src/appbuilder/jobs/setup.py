"""The queue this deployment uses, built from settings: the one module of ``jobs`` that
``web`` and ``cli`` import (they reach runs themselves through services/runs). Also the
serving process's watch over runs that no worker takes."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.session import make_engine, make_session_factory
from appbuilder.jobs.runner import EmbeddedDispatcher, InProcessRunner
from appbuilder.services import runs
from appbuilder.services.repository import remote_policy
from appbuilder.settings import Settings

log = logging.getLogger(__name__)


def run_context(settings: Settings, sessions: sessionmaker[Session]) -> runs.RunContext:
    return runs.RunContext(
        sessions=sessions,
        projects_dir=settings.projects_dir,
        heartbeat_seconds=settings.run_heartbeat_seconds,
        verify_timeout=settings.run_verify_timeout_seconds,
        verify_database_url=settings.verify_database_url,
        llm=settings.llm,
        project_store=settings.project_store or None,
        remotes=remote_policy(settings),
    )


def embedded_runner(
    settings: Settings, sessions: sessionmaker[Session], threads: int | None = None
) -> InProcessRunner:
    return InProcessRunner(
        run_context(settings, sessions),
        threads=threads or settings.runner_threads,
        lease_seconds=settings.run_lease_seconds,
    )


def dispatcher(settings: Settings, runner: InProcessRunner | None) -> runs.Dispatcher:
    if settings.uses_procrastinate:
        from appbuilder.jobs.queue import Queue  # noqa: PLC0415 - PostgreSQL deployments only

        return Queue(settings.database.url)
    return EmbeddedDispatcher(runner)


def procrastinate_worker(settings: Settings, context: runs.RunContext, concurrency: int) -> None:
    """Run a procrastinate worker until SIGTERM/SIGINT (see Queue.run_worker)."""
    from appbuilder.jobs.queue import Queue  # noqa: PLC0415 - PostgreSQL deployments only

    Queue(settings.database.url).run_worker(
        context,
        concurrency=concurrency,
        heartbeat=settings.run_heartbeat_seconds,
        stalled_after=settings.run_lease_seconds,
        grace=settings.run_shutdown_grace_seconds,
    )


class UnclaimedWatcher:
    """A thread of the serving process that gives runs no worker has taken their
    ``waiting`` event (services/runs/workers.py), so nobody waits in silence. It has its
    own engine (one connection at a time): housekeeping never waits for, or takes, a
    connection a request needs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.every = max(0.5, min(5.0, settings.run_unclaimed_warning_seconds / 4))
        self._engine: Engine | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="uab-unclaimed", daemon=True)

    def start(self) -> None:
        """Only on procrastinate: on the embedded queue this process runs queued runs itself
        (a follower, `uab runs follow`, still says when they wait)."""
        if self.settings.uses_procrastinate:
            self._engine = make_engine(self.settings.database)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        if self._engine is not None:
            self._engine.dispose()

    def _loop(self) -> None:
        assert self._engine is not None  # noqa: S101 - made by start()
        sessions = make_session_factory(self._engine)
        while not self._stop.wait(self.every):
            try:
                runs.check_unclaimed(self.settings, sessions)
            except Exception:
                log.warning("could not look for runs no worker took", exc_info=True)
