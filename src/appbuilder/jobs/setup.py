"""The queue this deployment uses, built from settings (one place for serve and worker),
and the serving process's watch over runs that no worker takes."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from appbuilder.jobs.runner import EmbeddedDispatcher, InProcessRunner
from appbuilder.services import runs
from appbuilder.settings import Settings

log = logging.getLogger(__name__)


def run_context(settings: Settings, sessions: sessionmaker[Session]) -> runs.RunContext:
    return runs.RunContext(
        sessions=sessions,
        projects_dir=settings.projects_dir,
        heartbeat_seconds=settings.run_heartbeat_seconds,
        verify_timeout=settings.run_verify_timeout_seconds,
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


class UnclaimedWatcher:
    """A thread of the serving process that gives runs no worker has taken their
    ``waiting`` event (services/runs/workers.py), so nobody waits in silence."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.every = max(0.5, min(5.0, settings.run_unclaimed_warning_seconds / 4))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="uab-unclaimed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                runs.check_unclaimed(self.settings, self.sessions)
            except Exception:
                log.warning("could not look for runs no worker took", exc_info=True)
