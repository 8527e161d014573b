"""The hot reads on PostgreSQL: asyncpg on the event loop (issue 16).

Why: a hot read on SQLAlchemy's sync session costs a worker-thread round trip, the
session, its pool and the ORM around statements that take PostgreSQL 0.01-0.03 ms; the
server's CPU, not the database, set the API's throughput. The same statements on an async
driver, prepared on each connection, with no thread, cost a third as much
(``bench/me_design.py``, ``bench/README.md``). The driver is asyncpg, not psycopg's async
one (which served here first): psycopg spent 40 % of the server's CPU on ``/api/me``
(registering its socket with the event loop and unregistering it at every wait, its
command machinery), asyncpg's protocol, built for the event loop, a fraction of that; the
floor the API is measured against runs on asyncpg (``bench/async_floor.py``).

What stays one: the statements are the SQLAlchemy statements the sync path runs (compiled
here once per statement object with SQLAlchemy's asyncpg dialect: ``$1`` parameters, with
the same casts), and what a read checks and answers is written once as steps
(``db.reads``). SQLite keeps the thread path; so does every write but the one below.

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

Reconnecting: the pool makes a connection when a read needs one and none is kept, so a
read during an outage is a 503 at once (not after the pool's timeout), and the first read
after PostgreSQL takes connections again has one. (psycopg's pool retried on a back-off of
1, 2, 4, 8... s, answering 503 for up to tens of seconds after PostgreSQL was back.)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import ClauseElement, Executable
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.sql.compiler import SQLCompiler

from appbuilder.db.reads import Steps
from appbuilder.errors import DatabaseBusyError, DatabaseUnavailableError
from appbuilder.settings import DatabaseSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
#: how long closing waits for the reads in progress before it ends their connections
CLOSE_SECONDS = 5.0
#: the most a statement of a read may take: one on a connection whose host vanished (a
#: failover) would wait for TCP to give up, about 15 minutes; its TimeoutError counts as a
#: lost connection (the hot reads' statements take milliseconds)
STATEMENT_SECONDS = 60.0
#: the least time between two log lines saying why the pool cannot connect
LOG_EVERY_SECONDS = 10.0
_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
#: what a connection lost under a read raises: the socket broke, the connection was found
#: closed, or the server's last words (an administrator's or a shutdown's 57P01-57P03)
#: arrived before its close and left the protocol mid-error
_LOST = (asyncpg.PostgresConnectionError, asyncpg.exceptions.InternalClientError, OSError)


def _lost(connection: asyncpg.Connection, exc: BaseException) -> bool:
    sqlstate = str(getattr(exc, "sqlstate", "") or "")
    if isinstance(exc, _LOST) or sqlstate.startswith("57P"):
        return True
    try:
        return bool(connection.is_closed())
    except asyncpg.InterfaceError:  # closed, and so already let go by its pool
        return True


def _terminate(connection: asyncpg.Connection) -> None:
    """Close a lost connection at once, so that the pool makes a new one for the next
    read; one closed under a read has been let go by the pool already."""
    with contextlib.suppress(asyncpg.InterfaceError):
        connection.terminate()


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    #: each ``$n``'s parameter name, in order
    names: tuple[str, ...]
    defaults: dict[str, Any]
    row: Callable[..., Any]
    returns_rows: bool


@cache
def _compiled(statement: Executable) -> _Compiled:
    """``statement`` for asyncpg, once: its SQL, its parameters' names in order, the values
    it binds itself (a literal LIMIT, a status), and a row type with the column names
    SQLAlchemy's rows have."""
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
    assert isinstance(compiled, SQLCompiler)  # noqa: S101 - a statement's compilation is
    return _Compiled(
        sql=sql,
        names=tuple(compiled.positiontup or ()),
        defaults={k: v for k, v in compiled.params.items() if v is not None},
        row=row,
        returns_rows=bool(names),
    )


#: the URL's parameters asyncpg takes itself (its ``connect_utils``), and the two settings
#: the server takes at start-up that a URL commonly carries; asyncpg would send any other
#: to the server as a setting, which refuses the connection when it is libpq's own
#: (``connect_timeout``, ``keepalives``...): those are left to the engine, on libpq
_ASYNCPG_PARAMETERS = frozenset(
    {
        "host", "port", "dbname", "database", "user", "password", "passfile", "service",
        "sslmode", "sslcert", "sslkey", "sslrootcert", "sslnegotiation", "sslcrl",
        "sslpassword", "ssl_min_protocol_version", "ssl_max_protocol_version",
        "target_session_attrs", "krbsrvname", "gsslib", "options", "application_name",
    }
)  # fmt: skip


def dsn(database: DatabaseSettings) -> str:
    """The database the engine uses, as asyncpg takes it: the URL's own parameters kept
    (``options`` with them: the server reads it) but libpq's own, several hosts as one
    list, the session in UTC (as the engine's UTCDateTime reads times)."""
    url = database.url.set(drivername="postgresql")
    dropped = sorted(set(url.query) - _ASYNCPG_PARAMETERS)
    if dropped:
        log.info("the hot reads' pool leaves these URL parameters to the engine: %s", dropped)
    query = {
        name: ",".join(value) if isinstance(value, tuple) and name != "options" else value
        for name, value in url.query.items()
        if name in _ASYNCPG_PARAMETERS
    }
    given = query.get("options")
    given = " ".join(given) if isinstance(given, tuple) else given
    query["options"] = " ".join(filter(None, [given, "-c TimeZone=UTC"]))
    return url.set(query=query).render_as_string(hide_password=False)


async def _json_values(connection: asyncpg.Connection) -> None:
    """``json``/``jsonb`` as Python values, as psycopg and the engine give them."""
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _as_left(connection: asyncpg.Connection) -> None:
    """asyncpg resets a connection given back to its pool (advisory locks, cursors,
    listeners, settings): one more round trip a read. A read here leaves none of them: its
    statements run in autocommit, and it sets nothing."""


class AsyncReads:
    """A pool of async connections for the hot reads, opened with the app (its lifespan)."""

    def __init__(self, database: DatabaseSettings) -> None:
        self._dsn = dsn(database)
        self._database = database
        self.pool: asyncpg.Pool | None = None
        #: called with each statement's SQL before it runs (tests count statements)
        self.on_statement: list[Callable[[str], None]] = []
        self._logged_at = -LOG_EVERY_SECONDS
        self._recycling: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """The pool, with no connection yet: a read makes the first (a server starts
        while PostgreSQL is down, and answers 503 until it is up)."""
        database = self._database
        recycle = float(database.pool_recycle) if database.pool_recycle > 0 else 3600.0
        self.pool = await asyncpg.create_pool(
            self._dsn,
            min_size=0,
            max_size=database.async_pool_size,
            # prepared on first use (asyncpg's statement cache): every statement here runs
            # on every request
            max_inactive_connection_lifetime=recycle,
            timeout=float(database.connect_timeout),
            command_timeout=STATEMENT_SECONDS,
            init=_json_values,
            reset=_as_left,
        )
        self._recycling = asyncio.create_task(self._recycle(self.pool, recycle))

    async def _recycle(self, pool: asyncpg.Pool, seconds: float) -> None:
        """Connections live at most ``pool_recycle`` seconds, busy or idle, as the
        engine's do: after a failover that leaves the old primary up (read-only), the
        reads move over with the engine. Each is replaced when next given back."""
        while True:
            await asyncio.sleep(seconds)
            await pool.expire_connections()

    async def close(self) -> None:
        """Waits up to 5 s for the reads in progress, then ends their connections."""
        if self.pool is None:
            return
        if self._recycling is not None:
            self._recycling.cancel()
        try:
            await asyncio.wait_for(self.pool.close(), CLOSE_SECONDS)
        except TimeoutError:
            self.pool.terminate()

    async def run(self, make_steps: Callable[[], Steps[T]]) -> T:
        """The steps ``make_steps`` makes; run again once on a fresh connection if the
        first one turns out to be lost."""
        try:
            return await self._run(make_steps())
        except _LostError as exc:
            log.warning(
                "a database connection was lost (%s); reading again on a new one",
                type(exc.__cause__).__name__,
            )
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
        pool = self.pool
        if pool is None or pool.is_closing():
            raise _shutting_down()
        try:
            connection = await pool.acquire(timeout=self._database.pool_timeout)
        except TimeoutError:
            in_use = pool.get_size() - pool.get_idle_size()
            if in_use < pool.get_max_size():  # not busy: no connection could be made
                raise _unreachable() from None
            raise DatabaseBusyError(
                "No database connection came free in time: the server is busy with other "
                "requests. Nothing was changed; try again in a moment.",
                retry_after=1,
            ) from None
        except (*_LOST, asyncpg.InterfaceError, asyncpg.PostgresError) as exc:  # down, refusing
            if pool.is_closing():
                raise _shutting_down() from None
            self._log_unreachable(exc)
            raise _unreachable() from exc
        try:
            return await self._steps(connection, steps)
        except Exception as exc:
            if _lost(connection, exc):
                _terminate(connection)
                raise _LostError from exc
            raise
        finally:
            await pool.release(connection)

    def _log_unreachable(self, exc: BaseException) -> None:
        """Why no connection could be made (a wrong password, a setting the server
        refuses, PostgreSQL down), at most once in ``LOG_EVERY_SECONDS``: the reads' 503
        says only that the database cannot be reached. asyncpg's messages hold no
        password."""
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_SECONDS:
            self._logged_at = now
            log.warning("the hot reads' pool cannot connect: %s: %s", type(exc).__name__, exc)

    async def _steps(self, connection: asyncpg.Connection, steps: Steps[T]) -> T:
        try:
            read = next(steps)
            while True:
                read = steps.send(await self._execute(connection, read.statement, read.params))
        except StopIteration as done:
            result: T = done.value
            return result

    async def _execute(
        self,
        connection: asyncpg.Connection,
        statement: Executable,
        params: Any,
    ) -> Sequence[Any]:
        compiled = _compiled(statement)
        for hook in self.on_statement:
            hook(compiled.sql)
        values = {**compiled.defaults, **params} if compiled.defaults else params
        args = [values[name] for name in compiled.names]
        if not compiled.returns_rows:
            await connection.execute(compiled.sql, *args)
            return ()
        make = compiled.row
        return [make(row) for row in await connection.fetch(compiled.sql, *args)]


def _shutting_down() -> DatabaseUnavailableError:
    return DatabaseUnavailableError(
        "The server is shutting down; nothing was changed. Try again in a moment.",
        retry_after=1,
    )


def _unreachable() -> DatabaseUnavailableError:
    return DatabaseUnavailableError(
        "The database cannot be reached right now; nothing was changed. Try again in a moment.",
        retry_after=1,
    )


class _LostError(Exception):
    """The connection a read ran on is gone (its cause is the driver's error)."""
