"""A run's state machine, and the ends every run reaches through it.

QUEUED → RUNNING when an execution claims it; RUNNING → QUEUED when a stopping worker
releases it or a transient failure backs it off; QUEUED or RUNNING → COMPLETED, FAILED or
CANCELLED once. Every status change goes through ``move`` (an end state never changes again,
so a late write of a lost execution can't resurrect a run), and every end through
``finish``, which writes the run's last event.

A FAILED run records whose failure it was (``platform_failure``): ours (the queue gave up,
the database or git failed) or the app's (a step failed, its own tests failed). Quotas
charge only the app's (see services/quotas.py).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from appbuilder.db.models import Generation, GenerationRun, Project
from appbuilder.db.types import utcnow
from appbuilder.enums import GenerationStatus, ProjectStatus, RunStatus
from appbuilder.errors import ConflictError
from appbuilder.services.call_rows import close_interrupted
from appbuilder.services.runs import events

log = logging.getLogger(__name__)

R = RunStatus
TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    R.QUEUED: frozenset({R.RUNNING, R.CANCELLED, R.FAILED}),
    R.RUNNING: frozenset({R.QUEUED, R.COMPLETED, R.FAILED, R.CANCELLED}),
    R.COMPLETED: frozenset(),
    R.FAILED: frozenset(),
    R.CANCELLED: frozenset(),
}
FINAL_GENERATION_STATES = (
    GenerationStatus.COMPLETED,
    GenerationStatus.FAILED,
    GenerationStatus.CANCELLED,
)
ERROR_LIMIT = 4000


def move(run: GenerationRun, new: RunStatus) -> None:
    """Change the run's status along the table; the same status again changes nothing."""
    if new is run.status:
        return
    if new not in TRANSITIONS[run.status]:
        raise ConflictError(
            f"Run {run.id!r} is {run.status.value} and cannot become {new.value}.",
            run_status=run.status.value,
            requested=new.value,
        )
    run.status = new


def locked_active_run(session: Session, run_id: str) -> GenerationRun | None:
    """The run, locked, if it hasn't ended (gone with its project, or finished: None)."""
    run = session.execute(
        select(GenerationRun).where(GenerationRun.id == run_id).with_for_update()
    ).scalar_one_or_none()
    return run if run is not None and run.active else None


def close_open_steps(session: Session, run_id: str, status: GenerationStatus) -> None:
    """End the run's rows still open: its steps ``status``, its calls interrupted (a call
    in flight when a run ends is one whose answer will never be settled)."""
    close_interrupted(session, Generation.run_id == run_id)
    session.execute(
        update(Generation)
        .where(Generation.run_id == run_id, Generation.status.not_in(FINAL_GENERATION_STATES))
        .values(status=status, completed_at=utcnow())
    )


def finish(session: Session, run: GenerationRun, status: RunStatus, **data: Any) -> RunStatus:
    """End the run (its last status change) and write the ``finished`` event."""
    error = f" ({data['error']})" if data.get("error") else ""
    log.info("run %s: %s%s", run.id, status.value, error)
    move(run, status)
    run.finished_at = utcnow()
    run.claim = None
    project = session.get_one(Project, run.project_id)
    events.append(
        session,
        run.id,
        events.FINISHED,
        status=status.value,
        project_status=project.status.value,
        **data,
    )
    return status


def settle_cancelled(session: Session, run: GenerationRun) -> RunStatus:
    """Cancelled: open steps CANCELLED, the project back where it was before the run."""
    close_open_steps(session, run.id, GenerationStatus.CANCELLED)
    session.get_one(Project, run.project_id).status = run.previous_status
    return finish(session, run, RunStatus.CANCELLED)


def fail(session: Session, run: GenerationRun, message: str, *, ours: bool = False) -> RunStatus:
    """FAILED: steps that never ran CANCELLED, the project in ERROR with the reason.
    ``ours``: the platform failed, not the app (the run is not charged)."""
    close_open_steps(session, run.id, GenerationStatus.CANCELLED)
    run.error_message = message[-ERROR_LIMIT:]
    run.platform_failure = ours
    session.get_one(Project, run.project_id).status = ProjectStatus.ERROR
    return finish(session, run, RunStatus.FAILED, error=run.error_message)


def give_up(session: Session, run: GenerationRun, message: str) -> None:
    """FAILED from outside the execution (always ours): the step it was in FAILED too."""
    close_interrupted(session, Generation.run_id == run.id)
    session.execute(
        update(Generation)
        .where(Generation.run_id == run.id, Generation.status == GenerationStatus.RUNNING)
        .values(status=GenerationStatus.FAILED, completed_at=utcnow(), error_message=message)
    )
    fail(session, run, message, ours=True)


def release(session: Session, run: GenerationRun) -> RunStatus:
    """Back to the queue: the next execution resumes from the first unfinished step."""
    close_interrupted(session, Generation.run_id == run.id)
    session.execute(
        update(Generation)
        .where(Generation.run_id == run.id, Generation.status == GenerationStatus.RUNNING)
        .values(status=GenerationStatus.PENDING)
    )
    move(run, RunStatus.QUEUED)
    run.claim = None
    events.append(session, run.id, "log", line="Released by a stopping worker; will resume.")
    return RunStatus.QUEUED
