"""The hot reads on PostgreSQL: psycopg's async driver on the event loop (issue 16).

Why: a hot read on SQLAlchemy's sync session costs a worker-thread round trip, the
session, its pool and the ORM around statements that take PostgreSQL 0.01-0.03 ms; the
server's CPU, not the database, set the API's throughput. The same statements on psycopg's
``AsyncConnectionPool``, prepared on each connection, with no thread, cost a third as much
(``bench/me_design.py``, ``bench/README.md``).

What stays one: the statements are the SQLAlchemy statements the sync path runs (compiled
here once per statement object for psycopg's parameter style), and what a read checks and
answers is written once as steps (``db.reads``). SQLite keeps the thread path.

A run's statements run on one pooled connection in autocommit: each is its own
transaction. Under READ COMMITTED (PostgreSQL's default, and ours) each statement of a
transaction reads its own snapshot anyway, so the BEGIN and COMMIT around them bought
nothing but two more round trips a request (about a fifth of ``/api/me``'s server CPU).
The one write among the reads, a credential's ``last_used_at`` at most once a minute, is a
single statement; it stands even when the request then fails (a 403 on a key's scope, a
404): the credential was used.

Reads are safe to repeat, so a connection found lost (a PostgreSQL restart left it dead in
the pool) is replaced and the read run again once; lost twice, or no connection within the
pool's timeout, is a 503 with Retry-After: ``database_busy`` only when every connection of
the pool was in use by other reads, else ``database_unavailable``.

Reconnecting: psycopg-pool retries a failed connection 1, 2, 4, 8... s apart for up to its
``reconnect_timeout`` (5 minutes by default), and while it does the pool makes no other.
After a short outage the hot reads kept answering 503 until that back-off's next attempt,
up to tens of seconds after PostgreSQL was back. Here an attempt gives up after
:data:`RECONNECT_SECONDS`, and a fresh one starts at once when reads are waiting (else with
the next read): at most about two seconds between PostgreSQL taking connections again and
the pool having one.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout
from sqlalchemy import ClauseElement, Executable
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from appbuilder.db.reads import Steps
from appbuilder.errors import DatabaseBusyError, DatabaseUnavailableError
from appbuilder.settings import DatabaseSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
#: how long one chain of reconnection attempts (1, 2, 4... s apart) lasts before a new one
RECONNECT_SECONDS = 5.0
_DIALECT = PGDialect_psycopg()  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: bytes
    defaults: dict[str, Any]
    row: Callable[..., Any]
    returns_rows: bool


@cache
def _compiled(statement: Executable) -> _Compiled:
    """``statement`` for psycopg, once: its SQL, the values it binds itself (a literal
    LIMIT), and a row type with the column names SQLAlchemy's rows have."""
    assert isinstance(statement, ClauseElement)  # noqa: S101 - every Executable we build is
    compiled = statement.compile(dialect=_DIALECT)
    sql = str(compiled)
    if "POSTCOMPILE" in sql:
        raise ValueError(f"expanded per execution, so not compiled once: {sql}")
    names = list(getattr(statement, "selected_columns", {}).keys())
    # rows are read by name, or by position where a column has none (an unlabelled count:
    # the named tuple renames it); the same name twice would read differently from
    # SQLAlchemy's rows, and a write's RETURNING would be lost
    named = [name for name in names if not name.startswith("_")]
    if len(set(named)) != len(named):
        raise ValueError(f"a column name repeats: {names}")
    if getattr(statement, "is_dml", False) and "RETURNING" in sql:
        raise ValueError(f"a write's RETURNING is not read here: {sql}")
    row: Callable[..., Any] = (
        collections.namedtuple("Row", names, rename=True)._make  # type: ignore[attr-defined]
        if names
        else tuple
    )
    return _Compiled(
        sql=sql.encode(),
        defaults={k: v for k, v in compiled.params.items() if v is not None},
        row=row,
        returns_rows=bool(names),
    )


def conninfo(database: DatabaseSettings) -> str:
    """The libpq connection string of the database the engine uses, its session in UTC (as
    the engine's UTCDateTime reads times), the URL's own parameters and ``options`` kept."""
    url = database.url
    query = {k: " ".join(v) if isinstance(v, tuple) else v for k, v in url.query.items()}
    given = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
        **query,
        "options": " ".join(filter(None, [query.get("options"), "-c TimeZone=UTC"])),
    }
    return make_conninfo("", **{k: v for k, v in given.items() if v is not None})


class AsyncReads:
    """A pool of async connections for the hot reads, opened with the app (its lifespan)."""

    def __init__(self, database: DatabaseSettings) -> None:
        # prepared on first use: every statement here runs on every request
        self._kwargs: dict[str, Any] = {
            "prepare_threshold": 0,
            "autocommit": True,  # see the module: no BEGIN and COMMIT round trips
            "connect_timeout": database.connect_timeout,
        }
        self.pool = AsyncConnectionPool(
            conninfo(database),
            min_size=1,
            max_size=database.async_pool_size,
            timeout=database.pool_timeout,
            open=False,
            kwargs=self._kwargs,
            max_lifetime=float(database.pool_recycle) if database.pool_recycle > 0 else 3600.0,
            name="uab-reads",
            reconnect_timeout=RECONNECT_SECONDS,
            reconnect_failed=self._reconnect_failed,
        )
        #: connections handed to reads and not yet given back: all of them in use is busy
        self._in_use = 0
        #: called with each statement's SQL before it runs (tests count statements)
        self.on_statement: list[Callable[[str], None]] = []

    async def open(self) -> None:
        await self.pool.open()

    async def close(self) -> None:
        await self.pool.close()

    async def run(self, make_steps: Callable[[], Steps[T]]) -> T:
        """The steps ``make_steps`` makes; run again once on a fresh connection if the
        first one turns out to be lost."""
        try:
            return await self._run(make_steps())
        except _LostError:
            log.warning("a database connection was lost; reading again on a new one")
            await self.pool.check()
        try:
            return await self._run(make_steps())
        except _LostError as exc:
            raise DatabaseUnavailableError(
                "The connection to the database was lost; nothing was changed. "
                "Try again in a moment.",
                retry_after=1,
            ) from exc.__cause__

    async def _run(self, steps: Steps[T]) -> T:
        """``steps`` on one connection, each statement committed as it runs."""
        used: psycopg.AsyncConnection[Any] | None = None
        try:
            async with self.pool.connection() as connection:
                used = connection
                self._in_use += 1
                try:
                    return await self._steps(connection, steps)
                finally:
                    self._in_use -= 1
        except PoolClosed:  # the server is stopping (a stream's read at shutdown)
            raise DatabaseUnavailableError(
                "The server is shutting down; nothing was changed. Try again in a moment.",
                retry_after=1,
            ) from None
        except PoolTimeout:
            if self._in_use < self.pool.max_size:  # not busy: the pool has no connection
                raise DatabaseUnavailableError(
                    "The database cannot be reached right now, or the server is connecting "
                    "to it again; nothing was changed. Try again in a moment.",
                    retry_after=1,
                ) from None
            raise DatabaseBusyError(
                "No database connection came free in time: the server is busy with other "
                "requests. Nothing was changed; try again in a moment.",
                retry_after=1,
            ) from None
        except psycopg.OperationalError as exc:
            if used is not None and (used.broken or used.closed):
                raise _LostError from exc
            raise

    async def _reconnect_failed(self, pool: AsyncConnectionPool[Any]) -> None:
        """A chain of reconnection attempts ended without a connection: with reads waiting
        for one, start another now (``check`` grows an empty pool); else the next read
        will."""
        if pool.get_stats().get("requests_waiting", 0) > 0:
            await pool.check()

    async def _steps(self, connection: psycopg.AsyncConnection[Any], steps: Steps[T]) -> T:
        try:
            read = next(steps)
            while True:
                read = steps.send(await self._execute(connection, read.statement, read.params))
        except StopIteration as done:
            result: T = done.value
            return result

    async def _execute(
        self,
        connection: psycopg.AsyncConnection[Any],
        statement: Executable,
        params: Any,
    ) -> Sequence[Any]:
        compiled = _compiled(statement)
        for hook in self.on_statement:
            hook(compiled.sql.decode())
        values = {**compiled.defaults, **params} if compiled.defaults else params
        cursor = await connection.execute(compiled.sql, values)
        if not compiled.returns_rows:
            return ()
        make = compiled.row
        return [make(row) for row in await cursor.fetchall()]


class _LostError(Exception):
    """The connection a read ran on is gone (its cause is the driver's error)."""
