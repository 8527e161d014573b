"""The embedded queue: runs execute in threads of the process that serves the API (or of
``uab worker``), with nothing to install. A thin adapter: which run is next, and what to do
when an execution dies, are decided in services/runs.

The runs table is the queue. A thread claims the oldest QUEUED run whose backoff has
passed, or a RUNNING run whose heartbeat went stale (its process died: this is how runs
are picked up after a restart), in the same transaction that marks it taken. Several
processes on one database share the work safely: the claim is a single write under the
database's lock.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.orm import Session

from appbuilder.db.models import GenerationRun
from appbuilder.services.runs.claims import back_off, fail_for_good, is_transient, reserve_next
from appbuilder.services.runs.execution import execute_run
from appbuilder.services.runs.journal import RunContext

log = logging.getLogger(__name__)

#: how long a released run may take to reach its step boundary on shutdown
RELEASE_SECONDS = 30.0


class InProcessRunner:
    def __init__(
        self,
        context: RunContext,
        *,
        threads: int = 2,
        poll_seconds: float = 1.0,
        lease_seconds: float = 30.0,
    ) -> None:
        self.context = context
        self.threads = threads
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        for number in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"uab-runner-{number}", daemon=True)
            thread.start()
            self._workers.append(thread)

    def wake(self) -> None:
        """A run was queued: look now instead of at the next poll."""
        self._wake.set()

    def stop(self, grace: float = 30.0) -> bool:
        """Take no new runs; give the current ones ``grace`` seconds to finish, then release
        them at their next step boundary (a verification in progress is stopped) so the
        next process resumes them. True when every thread ended."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + grace
        for thread in self._workers:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.context.stopping.set()
        for thread in self._workers:
            thread.join(RELEASE_SECONDS)
        return not any(t.is_alive() for t in self._workers)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                run_id = reserve_next(self.context.sessions, self.lease_seconds)
            except Exception:
                log.warning("could not look for queued runs", exc_info=True)
                run_id = None
            if run_id is None:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            self.run_one(run_id)

    def run_one(self, run_id: str) -> None:
        try:
            execute_run(self.context, run_id)
        except Exception as error:
            if is_transient(error) and back_off(self.context.sessions, run_id):
                log.warning("run %s: transient failure, will retry: %s", run_id, error)
                return
            log.exception("run %s failed for good", run_id)
            try:
                fail_for_good(
                    self.context.sessions, run_id, f"Internal error: {type(error).__name__}"
                )
            except Exception:
                log.exception("run %s: could not record the failure", run_id)


class EmbeddedDispatcher:
    """The embedded queue's side of starting a run: the QUEUED row is the job, so there is
    nothing to insert; after commit, the local runner (if this process has one) is woken."""

    def __init__(self, runner: InProcessRunner | None = None) -> None:
        self.runner = runner

    def enqueue(self, session: Session, run: GenerationRun) -> None:
        pass

    def cancel_waiting(self, session: Session, run: GenerationRun) -> None:
        pass

    def job_ended(self, session: Session, run: GenerationRun) -> bool:  # noqa: ARG002
        return False  # the row is the job: a stale lease brings it back to a runner

    def notify(self) -> None:
        if self.runner is not None:
            self.runner.wake()
