"""Who holds a run: the state changes the queues make around an execution.

A queue adapter (jobs/) picks a run, ``claim_run`` takes it with a fresh token (every later
write checks it), and when an execution dies outside the pipeline the adapter calls
``back_off`` (transient: try later), ``fail_for_good`` (retries ran out, or a bug) or
``reconcile_orphans`` (the job ended without ending its run). The embedded queue's
``reserve_next`` is the claim of "the next run" on a table that is its own queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.models import Generation, GenerationRun
from appbuilder.db.session import reading
from appbuilder.db.types import new_id, utcnow
from appbuilder.enums import RunStatus
from appbuilder.services.call_rows import close_interrupted
from appbuilder.services.runs import events
from appbuilder.services.runs.lifecycle import (
    give_up,
    locked_active_run,
    move,
    settle_cancelled,
)

log = logging.getLogger(__name__)

#: executions of one run before it is given up (crashes, transient failures, releases)
MAX_ATTEMPTS = 6


def claim_run(sessions: sessionmaker[Session], run_id: str) -> str | None:
    """Take the run for this execution: a new claim token, or None when there is nothing
    to do (finished, or gone with its project)."""
    claim = new_id()
    log.info("run %s: taking it", run_id)
    with sessions.begin() as session:
        run = locked_active_run(session, run_id)
        if run is None:
            return None
        if run.attempts >= MAX_ATTEMPTS:
            # a run that keeps killing its worker (memory, a crashing agent) must not
            # be picked up forever
            give_up(session, run, f"Gave up after {run.attempts} attempts.")
            return None
        resumed = run.attempts > 0
        if resumed:  # the run's holder is gone: a call it left in flight never ends
            interrupted = close_interrupted(session, Generation.run_id == run_id)
            if interrupted:
                log.warning("run %s: %d model call(s) interrupted", run_id, interrupted)
        move(run, RunStatus.RUNNING)
        run.claim = claim
        run.attempts += 1
        run.heartbeat_at = utcnow()
        run.not_before = None
        run.started_at = run.started_at or utcnow()
        events.append(session, run_id, "started", attempt=run.attempts, resumed=resumed)
    return claim


def fail_for_good(sessions: sessionmaker[Session], run_id: str, message: str) -> None:
    """The queue gave up retrying (or met a bug): end the run FAILED, whoever holds it."""
    with sessions.begin() as session:
        run = locked_active_run(session, run_id)
        if run is not None:
            give_up(session, run, message)


def end_orphan(sessions: sessionmaker[Session], run_id: str) -> None:
    """A run whose job will never run again: CANCELLED if a cancel was asked for (the
    project gets its status back), else FAILED."""
    with sessions.begin() as session:
        run = locked_active_run(session, run_id)
        if run is None:
            return
        if run.cancel_requested:
            settle_cancelled(session, run)
        else:
            give_up(session, run, "The run's job ended before the run did; start it again.")


def reconcile_orphans(
    sessions: sessionmaker[Session], find: Callable[[Session], Sequence[str]]
) -> int:
    """End the active runs ``find`` names as orphans (their job ended without settling
    them: its retries ran out while the database was down, or someone cancelled it).
    Returns how many."""
    with sessions() as session:
        orphans = list(find(session))
    for run_id in orphans:
        log.warning("run %s: its job ended without ending the run; settling it", run_id)
        end_orphan(sessions, run_id)
    return len(orphans)


def back_off(sessions: sessionmaker[Session], run_id: str) -> bool:
    """Queue the run again after 2, 4, 8... seconds; False when attempts ran out."""
    try:
        with sessions.begin() as session:
            run = session.get(GenerationRun, run_id)
            if run is None or not run.active or run.attempts >= MAX_ATTEMPTS:
                return False
            move(run, RunStatus.QUEUED)
            run.claim = None
            run.not_before = utcnow() + timedelta(seconds=2**run.attempts)
            return True
    except Exception:
        # still unreachable: the lease expires and a later poll takes the run again
        return True


def is_transient(error: BaseException) -> bool:
    """Worth retrying: the database was unreachable or dropped the connection."""
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def _claimable(lease: float) -> ColumnElement[bool]:
    now = utcnow()
    return or_(
        and_(
            GenerationRun.status == RunStatus.QUEUED,
            or_(GenerationRun.not_before.is_(None), GenerationRun.not_before <= now),
        ),
        and_(
            GenerationRun.status == RunStatus.RUNNING,
            or_(
                GenerationRun.heartbeat_at.is_(None),
                GenerationRun.heartbeat_at < now - timedelta(seconds=lease),
            ),
        ),
    )


def reserve_next(sessions: sessionmaker[Session], lease: float) -> str | None:
    """The embedded queue: mark the next claimable run (the oldest QUEUED one whose backoff
    passed, or a RUNNING one whose heartbeat went stale) as taken and return its id."""
    with reading(sessions) as session:  # an idle poll takes no write lock
        if session.scalar(select(GenerationRun.id).where(_claimable(lease)).limit(1)) is None:
            return None
    with sessions.begin() as session:
        run_id: str | None = session.scalar(
            select(GenerationRun.id)
            .where(_claimable(lease))
            .order_by(GenerationRun.created_at, GenerationRun.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if run_id is None:
            return None
        # RUNNING with a fresh heartbeat and a placeholder claim: no other thread or
        # process can take it before execute_run claims it for real.
        session.execute(
            update(GenerationRun)
            .where(GenerationRun.id == run_id)
            .values(status=RunStatus.RUNNING, heartbeat_at=utcnow(), claim=new_id())
        )
        return run_id
