"""The production queue: procrastinate on PostgreSQL.

A run's job is inserted by procrastinate's own SQL on the connection of the transaction
that creates the run and moves its project to GENERATING, so either all of it commits or
none does. Jobs carry a per-project lock (two runs of one project never execute at once,
even if the database's one-active-run rule were bypassed). Workers are plain processes
(``uab worker``), as many as wanted on as many machines; each also re-queues the jobs of
workers that stopped sending heartbeats (killed, or their machine gone), so a run whose
worker died is resumed by another.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import procrastinate
import psycopg
from procrastinate import JobContext, RetryStrategy
from sqlalchemy.engine import URL
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from appbuilder.db.models import GenerationRun
from appbuilder.jobs.pipeline import RunContext, execute_run, fail_for_good, is_transient

log = logging.getLogger(__name__)

QUEUE = "generations"
TASK = "appbuilder.generate_run"
MAX_ATTEMPTS = 6
#: retry waits: 2, 4, 8, 16, 32 seconds
RETRY = RetryStrategy(
    max_attempts=MAX_ATTEMPTS,
    exponential_wait=2,
    retry_exceptions={OperationalError, InterfaceError},
)


def _driver_connection(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection under ``session``, so procrastinate writes in our transaction."""
    connection = session.connection().connection.driver_connection
    if not isinstance(connection, psycopg.Connection):
        raise TypeError("the procrastinate queue needs a PostgreSQL (psycopg) session")
    return connection


def conninfo(url: URL) -> str:
    """libpq's form of our SQLAlchemy URL (procrastinate speaks psycopg directly)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Queue:
    """One procrastinate app per process; the worker sets ``context`` before running."""

    def __init__(self, url: URL) -> None:
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=conninfo(url))
        )
        self.context: RunContext | None = None
        self.task = self.app.task(name=TASK, queue=QUEUE, retry=RETRY, pass_context=True)(self._run)

    def _run(self, job: JobContext, run_id: str) -> None:
        if self.context is None:  # pragma: no cover - set by the worker before it starts
            raise RuntimeError("the worker has no run context")
        try:
            execute_run(self.context, run_id)
        except Exception as error:
            attempts = (job.job.attempts if job.job else 0) + 1
            if is_transient(error) and attempts < MAX_ATTEMPTS:
                log.warning("run %s: transient failure, will retry: %s", run_id, error)
                raise
            log.exception("run %s failed for good", run_id)
            fail_for_good(self.context, run_id, f"Internal error: {type(error).__name__}")
            raise

    def enqueue(self, session: Session, run: GenerationRun) -> None:
        """Defer the run's job inside ``session``'s transaction."""
        connection = _driver_connection(session)
        run.job_id = self.task.configure(
            lock=f"project:{run.project_id}", connection=connection
        ).defer(run_id=run.id)

    def cancel_waiting(self, session: Session, run: GenerationRun) -> None:
        """Drop a run's job that no worker has taken yet (a cancelled queued run)."""
        if run.job_id is None:
            return
        connection = _driver_connection(session)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE procrastinate_jobs SET status = 'cancelled' "
                "WHERE id = %s AND status = 'todo'",
                (run.job_id,),
            )

    def notify(self) -> None:
        """Workers hear of new jobs through procrastinate's LISTEN/NOTIFY."""

    async def requeue_stalled(self, stalled_after: float) -> int:
        """Put back the jobs of workers whose heartbeat stopped; returns how many."""
        stalled = await self.app.job_manager.get_stalled_jobs(
            queue=QUEUE, seconds_since_heartbeat=stalled_after
        )
        count = 0
        for job in stalled:
            log.warning("re-queueing job %s of a stalled worker", job.id)
            await self.app.job_manager.retry_job(job)
            count += 1
        return count

    def run_worker(
        self,
        context: RunContext,
        *,
        concurrency: int,
        heartbeat: float,
        stalled_after: float,
        name: str = "uab-worker",
        **extra: Any,
    ) -> None:
        self.context = context

        async def main() -> None:
            async with self.app.open_async():
                watcher = asyncio.create_task(self._watch_stalled(heartbeat, stalled_after))
                try:
                    await self.app.run_worker_async(
                        queues=[QUEUE],
                        concurrency=concurrency,
                        name=name,
                        update_heartbeat_interval=heartbeat,
                        stalled_worker_timeout=stalled_after,
                        fetch_job_polling_interval=1.0,
                        **extra,
                    )
                finally:
                    watcher.cancel()

        asyncio.run(main())

    async def _watch_stalled(self, heartbeat: float, stalled_after: float) -> None:
        while True:
            try:
                await self.requeue_stalled(stalled_after)
            except Exception:
                log.warning("checking for stalled jobs failed", exc_info=True)
            await asyncio.sleep(max(heartbeat, 1.0))
