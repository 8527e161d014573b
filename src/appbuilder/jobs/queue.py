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
import signal
from typing import Any

import procrastinate
import psycopg
from procrastinate import JobContext, RetryStrategy
from procrastinate.worker import Worker
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from appbuilder.db.models import GenerationRun
from appbuilder.enums import RunStatus
from appbuilder.services.runs.claims import (
    MAX_ATTEMPTS,
    fail_for_good,
    is_transient,
    reconcile_orphans,
)
from appbuilder.services.runs.execution import execute_run
from appbuilder.services.runs.journal import RunContext

log = logging.getLogger(__name__)


class RetryLaterError(Exception):
    """Try this run again later: the database failed, or the worker released it."""


QUEUE = "generations"
TASK = "appbuilder.generate_run"
#: procrastinate retries a job this many times after its first execution fails
RETRY = RetryStrategy(
    max_attempts=MAX_ATTEMPTS - 1,
    exponential_wait=2,  # waits 2, 4, 8, 16, 32 s
    retry_exceptions={RetryLaterError},
)
#: procrastinate job states from which no worker will ever run the job again
ENDED_JOB_STATES = ("succeeded", "failed", "cancelled", "aborted")


def conninfo(url: URL) -> str:
    """libpq's form of our SQLAlchemy URL (procrastinate speaks psycopg directly)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _driver_connection(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection under ``session``, so procrastinate writes in our transaction."""
    connection = session.connection().connection.driver_connection
    if not isinstance(connection, psycopg.Connection):
        raise TypeError("the procrastinate queue needs a PostgreSQL (psycopg) session")
    return connection


def _orphans(session: Session) -> list[str]:
    """Active runs whose procrastinate job ended (or is gone)."""
    found = session.execute(
        text(
            "SELECT r.id FROM generation_runs r "
            "LEFT JOIN procrastinate_jobs j ON j.id = r.job_id "
            "WHERE r.status IN ('QUEUED', 'RUNNING') AND r.job_id IS NOT NULL "
            "AND (j.id IS NULL OR j.status::text IN "
            "('succeeded', 'failed', 'cancelled', 'aborted'))"
        )
    )
    return list(found.scalars().all())


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
        attempt = (job.job.attempts if job.job else 0) + 1
        try:
            outcome = execute_run(self.context, run_id)
        except Exception as error:
            if is_transient(error) and attempt < MAX_ATTEMPTS:
                log.warning("run %s: transient failure, will retry: %s", run_id, error)
                raise RetryLaterError(str(error)) from error
            log.exception("run %s failed for good", run_id)
            fail_for_good(self.context.sessions, run_id, f"Internal error: {type(error).__name__}")
            return
        if outcome is RunStatus.QUEUED:  # released by this stopping worker: run it again
            raise RetryLaterError("released by a stopping worker")

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

    def job_ended(self, session: Session, run: GenerationRun) -> bool:
        """True when no worker will run this run's job again (it ended, or is gone)."""
        if run.job_id is None:
            return False
        status = session.execute(
            text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": run.job_id}
        ).scalar_one_or_none()
        return status is None or status in ENDED_JOB_STATES

    def notify(self) -> None:
        """Workers hear of new jobs through procrastinate's LISTEN/NOTIFY."""

    async def requeue_stalled(self, stalled_after: float) -> int:
        """Put back the jobs of workers whose heartbeat stopped, unless their run's own
        heartbeat is fresh (a worker shutting down stops procrastinate's heartbeat while
        it still finishes its runs). Returns how many."""
        stalled = await self.app.job_manager.get_stalled_jobs(
            queue=QUEUE, seconds_since_heartbeat=stalled_after
        )
        count = 0
        for job in stalled:
            run_id = job.task_kwargs.get("run_id")
            alive = await self.app.connector.execute_query_one_async(
                "SELECT count(*) AS alive FROM generation_runs WHERE id = %(id)s "
                "AND heartbeat_at > now() - make_interval(secs => %(secs)s)",
                id=run_id,
                secs=stalled_after,
            )
            if alive["alive"]:
                continue
            log.warning("re-queueing job %s of a stalled worker", job.id)
            await self.app.job_manager.retry_job(job)
            count += 1
        return count

    def reconcile(self) -> int:
        """End the active runs whose job ended without settling them (its retries ran out
        while the database was down, or someone cancelled the job): CANCELLED when a
        cancel was asked for, else FAILED. Returns how many."""
        if self.context is None:  # pragma: no cover - set by the worker before it starts
            return 0
        return reconcile_orphans(self.context.sessions, _orphans)

    def run_worker(
        self,
        context: RunContext,
        *,
        concurrency: int,
        heartbeat: float,
        stalled_after: float,
        grace: float,
        name: str = "uab-worker",
    ) -> None:
        """Run until SIGTERM/SIGINT: then take no new jobs, give running runs ``grace``
        seconds to finish, and release the rest at their next step (a second signal
        releases at once); released runs are retried by other workers."""
        self.context = context

        async def main() -> None:
            async with self.app.open_async():
                worker = Worker(
                    self.app,
                    queues=[QUEUE],
                    name=name,
                    concurrency=concurrency,
                    install_signal_handlers=False,
                    update_heartbeat_interval=heartbeat,
                    stalled_worker_timeout=stalled_after,
                    fetch_job_polling_interval=1.0,
                )
                loop = asyncio.get_running_loop()

                def on_signal() -> None:
                    if worker._stop_event.is_set():
                        context.stopping.set()
                        return
                    worker.stop()  # type: ignore[no-untyped-call]
                    loop.call_later(grace, context.stopping.set)

                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(signum, on_signal)
                watcher = asyncio.create_task(self._watch(heartbeat, stalled_after))
                try:
                    await worker.run()  # type: ignore[no-untyped-call]
                finally:
                    watcher.cancel()

        asyncio.run(main())

    async def _watch(self, heartbeat: float, stalled_after: float) -> None:
        while True:
            try:
                await self.requeue_stalled(stalled_after)
                await asyncio.to_thread(self.reconcile)
            except Exception:
                log.warning("checking for stalled jobs and runs failed", exc_info=True)
            await asyncio.sleep(max(heartbeat, 1.0))
