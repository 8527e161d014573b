"""Whether anything will run a queued run: live workers, and runs nobody has taken.

On PostgreSQL runs wait for a ``uab worker`` (procrastinate keeps one row per worker in
``procrastinate_workers`` with its last heartbeat); a run that no worker takes would
otherwise wait in silence. After ``run_unclaimed_warning_seconds`` it gets one ``waiting``
event saying why, and its detail carries the same notice. On the embedded queue the
serving process is the worker, so a run waits only while its threads are busy.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, exists, select, text
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.models import GenerationRun, RunEvent
from appbuilder.db.session import reading
from appbuilder.db.types import utcnow
from appbuilder.enums import RunStatus
from appbuilder.services.runs import events
from appbuilder.services.runs.lifecycle import locked_active_run
from appbuilder.settings import Settings

#: the event a run gets once when no worker has taken it in time
WAITING = "waiting"


def live_workers(session: Session, within_seconds: float) -> int:
    """procrastinate workers whose heartbeat is at most ``within_seconds`` old."""
    alive = session.execute(
        text(
            "SELECT count(*) FROM procrastinate_workers "
            "WHERE last_heartbeat > now() - make_interval(secs => :secs)"
        ),
        {"secs": within_seconds},
    ).scalar_one()
    return int(alive)


def workers_alive(settings: Settings, sessions: sessionmaker[Session]) -> int | None:
    """Live procrastinate workers; None on the embedded queue (serve and worker are it)."""
    if not settings.uses_procrastinate:
        return None
    with reading(sessions) as session:
        return live_workers(session, settings.run_lease_seconds)


def check_unclaimed(
    settings: Settings, sessions: sessionmaker[Session], run_id: str | None = None
) -> int:
    """``note_unclaimed`` with this deployment's settings and worker count."""
    workers = workers_alive(settings, sessions)
    return note_unclaimed(sessions, settings.run_unclaimed_warning_seconds, workers, run_id)


def _never_taken(run: GenerationRun) -> bool:
    return run.status is RunStatus.QUEUED and run.attempts == 0


def waiting_notice(run: GenerationRun, after_seconds: float) -> str | None:
    """What a run's detail says when no worker has taken it in ``after_seconds``."""
    if not _never_taken(run) or utcnow() - run.created_at < timedelta(seconds=after_seconds):
        return None
    return f"No worker has taken this run after {after_seconds:g} s."


def waiting_message(after_seconds: float, workers: int | None) -> str:
    """The ``waiting`` event's line: ``workers`` is the live procrastinate workers, or None
    on the embedded queue (whose workers are `uab serve` and `uab worker` themselves)."""
    head = f"No worker has taken this run after {after_seconds:g} s: "
    if workers is None:
        return head + "`uab serve` and `uab worker` run queued runs; are they busy or stopped?"
    if workers == 0:
        return head + "no worker is running. Start one with `uab worker`."
    return head + f"the {workers} running worker(s) are busy with other runs."


def note_unclaimed(
    sessions: sessionmaker[Session],
    after_seconds: float,
    workers: int | None,
    run_id: str | None = None,
) -> int:
    """Give each run waiting longer than ``after_seconds`` for its first worker (only
    ``run_id`` if given) its one ``waiting`` event. Returns how many got one."""
    with reading(sessions) as session:
        waiting = list(session.scalars(_unnoticed(after_seconds, run_id)))
    noted = 0
    for found in waiting:
        with sessions.begin() as session:
            run = locked_active_run(session, found)  # a worker may take it meanwhile
            if run is None or not _never_taken(run) or session.scalar(_noticed(found)):
                continue
            line = waiting_message(after_seconds, workers)
            events.append(session, found, WAITING, line=line, seconds=after_seconds)
            noted += 1
    return noted


def _unnoticed(after_seconds: float, run_id: str | None) -> Select[str]:
    query = select(GenerationRun.id).where(
        GenerationRun.status == RunStatus.QUEUED,
        GenerationRun.attempts == 0,
        GenerationRun.created_at < utcnow() - timedelta(seconds=after_seconds),
        ~exists(_noticed(GenerationRun.id)),
    )
    return query if run_id is None else query.where(GenerationRun.id == run_id)


def _noticed(run_id: object) -> Select[int]:
    return select(RunEvent.id).where(RunEvent.run_id == run_id, RunEvent.kind == WAITING)
