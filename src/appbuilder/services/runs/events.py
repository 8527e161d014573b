"""The run event log: what the live progress stream and ``--follow`` read.

Events are numbered 1, 2, 3... per run. The number comes from the run row, incremented in
the same transaction that inserts the event: that row lock is held until commit, so events
become visible in number order and a reader that asks for "after N" never skips one that
commits late (which ids from a sequence would allow). On PostgreSQL each event also
sends a notice (``notices``) that wakes the streams of its run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from appbuilder.db.models import GenerationRun, RunEvent
from appbuilder.db.reads import Read, Steps, run_steps
from appbuilder.services.runs.notices import CHANNEL

#: the kind of the last event of every run
FINISHED = "finished"
MAX_EVENTS_PER_READ = 500
#: the largest event number (the column is a 32-bit integer): a client's "after" is at most
MAX_EVENT_SEQ = 2**31 - 1


@dataclass(frozen=True)
class EventOut:
    seq: int
    kind: str
    data: dict[str, Any]


def append(session: Session, run_id: str, kind: str, **data: Any) -> int:
    seq = session.execute(
        update(GenerationRun)
        .where(GenerationRun.id == run_id)
        .values(event_seq=GenerationRun.event_seq + 1)
        .returning(GenerationRun.event_seq)
    ).scalar_one()
    session.add(RunEvent(run_id=run_id, seq=seq, kind=kind, data=data))
    if session.get_bind().dialect.name == "postgresql":  # delivered when this commits
        session.execute(select(func.pg_notify(CHANNEL, run_id)))
    return int(seq)


_AFTER = (
    select(RunEvent.seq, RunEvent.kind, RunEvent.data)
    .where(RunEvent.run_id == bindparam("run_id"), RunEvent.seq > bindparam("after"))
    .order_by(RunEvent.seq)
    .limit(MAX_EVENTS_PER_READ)
)


def read_steps(run_id: str, after: int = 0) -> Steps[list[EventOut]]:
    """The run's events after ``after`` (at most a read's worth), as steps (``db.reads``):
    the live streams read them on the async pool on PostgreSQL."""
    rows = yield Read(_AFTER, {"run_id": run_id, "after": after})
    return [EventOut(row.seq, row.kind, row.data) for row in rows]


def read(session: Session, run_id: str, after: int = 0) -> list[EventOut]:
    return run_steps(session, read_steps(run_id, after))
