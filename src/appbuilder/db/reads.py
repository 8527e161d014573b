"""Reads written once and run on either driver.

The hot reads (issue 16) run on SQLAlchemy's sync session in a worker thread on SQLite, and
on asyncpg on the event loop on PostgreSQL (``db.async_reads``). So that the
rule of what a request reads, checks and answers lives in one place, such a read is written
as *steps*: a generator that yields each :class:`Read` (a prebuilt SQLAlchemy statement and
its parameters), is sent that statement's rows, and returns its result. Each driver only
executes: :func:`run_steps` here on a session, ``AsyncReads.run`` on an async connection.

Rows are read by column name (``row.id``) on both drivers; values are the driver's (on the
async driver an enum column's text, not the enum: what reads them validates it).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Executable
from sqlalchemy.orm import Session

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Read:
    """One statement of a read and its parameters. The statement is built once (module
    level, or cached): the async driver compiles each statement object once."""

    statement: Executable
    params: Mapping[str, Any]


#: a read written once: yields statements, is sent their rows, returns its result
Steps = Generator[Read, Sequence[Any], T]


def run_steps(session: Session, steps: Steps[T]) -> T:
    """``steps`` run on a sync session's connection (in the caller's transaction; Core
    execution: the statements select columns, so the ORM has nothing to add)."""
    connection = session.connection()
    try:
        read = next(steps)
        while True:
            sent = connection.execute(read.statement, read.params)
            read = steps.send(sent.all() if sent.returns_rows else ())
    except StopIteration as done:
        result: T = done.value
        return result
