"""The queue this deployment uses, built from settings (one place for serve and worker)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from appbuilder.jobs.dispatch import Dispatcher
from appbuilder.jobs.pipeline import RunContext
from appbuilder.jobs.runner import EmbeddedDispatcher, InProcessRunner
from appbuilder.settings import Settings


def run_context(settings: Settings, sessions: sessionmaker[Session]) -> RunContext:
    return RunContext(
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


def dispatcher(settings: Settings, runner: InProcessRunner | None) -> Dispatcher:
    if settings.uses_procrastinate:
        from appbuilder.jobs.queue import Queue  # noqa: PLC0415 - PostgreSQL deployments only

        return Queue(settings.database.url)
    return EmbeddedDispatcher(runner)
