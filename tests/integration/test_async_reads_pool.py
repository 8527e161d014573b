"""The hot reads' async pool (``db.async_reads``) on a real PostgreSQL: reads run in
autocommit; a connection lost during a read is replaced and the read run again once (or,
lost after its last statement, the read has its answer); lost twice is a
503 database_unavailable; no connection in time is a 503 database_busy; the URL's own
settings reach the connections."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy import Engine, Integer, func, select, text

from appbuilder.db import async_reads
from appbuilder.db.async_reads import AsyncReads
from appbuilder.db.reads import Read, Steps
from appbuilder.errors import DatabaseBusyError, DatabaseUnavailableError
from appbuilder.settings import Settings

T = TypeVar("T")
_PID = select(func.pg_backend_pid().label("pid"))
_TIMEZONE = select(func.current_setting("TimeZone").label("zone"))
_APPLICATION = select(func.current_setting("application_name").label("name"))


def _settings(engine: Engine, **changes: Any) -> Settings:
    fields = {"database_url": engine.url.render_as_string(hide_password=False), **changes}
    return Settings(**fields)


def _with_pool(engine: Engine, use: Callable[[AsyncReads], Awaitable[T]], **changes: Any) -> T:
    async def run() -> T:
        reads = AsyncReads(_settings(engine, **changes).database)
        await reads.open()
        try:
            return await use(reads)
        finally:
            await reads.close()

    return asyncio.run(run())


def _end(engine: Engine, pid: int) -> None:
    """PostgreSQL ends that backend, as a restart or a failover would."""
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_a_connection_lost_after_a_read_leaves_it_answered_and_the_next_read_on_a_new_one(
    pg_engine: Engine,
) -> None:
    """Each statement commits as it runs (autocommit), so a read whose connection is ended
    after its last statement has its answer; the dead connection goes back to the pool,
    and the next read to take it runs again on a fresh one."""
    attempts: list[int] = []

    def steps() -> Steps[int]:
        rows = yield Read(_PID, {})
        pid: int = rows[0].pid
        attempts.append(pid)
        if len(attempts) == 1:  # after its last statement, before it is given back
            _end(pg_engine, pid)
        return pid

    async def use(reads: AsyncReads) -> list[int]:
        return [await reads.run(steps), await reads.run(steps)]

    answered = _with_pool(pg_engine, use, database_async_pool_size=1)

    assert answered == [attempts[0], attempts[-1]]
    assert attempts[-1] != attempts[0]


def test_a_read_runs_in_autocommit_so_its_touch_is_no_open_transaction(
    pg_engine: Engine,
) -> None:
    """No BEGIN: a statement of the reads is committed when it returns (what another
    connection sees at once), and the connection is idle, not idle in transaction."""
    status: list[str] = []

    def steps() -> Steps[None]:
        rows = yield Read(_PID, {})
        with pg_engine.connect() as other:
            status.append(
                other.execute(
                    text("SELECT state FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": rows[0].pid},
                ).scalar_one()
            )

    _with_pool(pg_engine, lambda reads: reads.run(steps))

    assert status == ["idle"]


def test_a_read_whose_connections_are_lost_twice_is_a_503(pg_engine: Engine) -> None:
    def steps() -> Steps[None]:
        rows = yield Read(_PID, {})
        _end(pg_engine, rows[0].pid)
        yield Read(_PID, {})  # on the connection PostgreSQL just ended

    with pytest.raises(DatabaseUnavailableError) as refused:
        _with_pool(pg_engine, lambda reads: reads.run(steps))
    assert refused.value.retry_after == 1


_SLEEP = select(func.pg_sleep(1).label("slept"))


def test_no_connection_in_time_is_a_503_busy(pg_engine: Engine) -> None:
    """Every connection of the pool in use by another read: busy."""

    async def use(reads: AsyncReads) -> None:
        slow = asyncio.ensure_future(reads.run(lambda: _one(_SLEEP)))  # the only connection
        await asyncio.sleep(0.1)
        try:
            await reads.run(lambda: _one(_PID))
        finally:
            await slow

    with pytest.raises(DatabaseBusyError) as refused:
        _with_pool(pg_engine, use, database_async_pool_size=1, database_pool_timeout=0.3)
    assert "busy" in str(refused.value)


def test_no_connection_in_time_while_none_is_in_use_is_a_503_unavailable(
    pg_engine: Engine,
) -> None:
    """The pool could make no connection (PostgreSQL down, or back and the pool not yet
    reconnected): not busy, and not said to be."""
    url = pg_engine.url.set(port=_closed_port())

    async def use(reads: AsyncReads) -> None:
        await reads.run(lambda: _one(_PID))

    async def run() -> None:
        reads = AsyncReads(
            Settings(
                database_url=url.render_as_string(hide_password=False),
                database_pool_timeout=0.3,
                database_connect_timeout=1,
            ).database
        )
        await reads.open()
        try:
            await use(reads)
        finally:
            await reads.close()

    with pytest.raises(DatabaseUnavailableError) as refused:
        asyncio.run(run())
    assert refused.value.retry_after == 1
    assert "busy" not in str(refused.value)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_statement_error_is_not_taken_for_a_lost_connection(pg_engine: Engine) -> None:
    """A statement PostgreSQL refuses is the driver's error, raised once, not run again."""
    runs: list[int] = []

    def steps() -> Steps[None]:
        runs.append(1)
        yield Read(text("SELECT 1 / 0 AS never").columns(never=Integer), {})

    with pytest.raises(asyncpg.DivisionByZeroError):
        _with_pool(pg_engine, lambda reads: reads.run(steps))
    assert runs == [1]


def test_connections_keep_the_urls_options_and_read_times_in_utc(pg_engine: Engine) -> None:
    named = pg_engine.url.update_query_dict({"options": "-c application_name=uab-reads-test"})
    settings = Settings(database_url=named.render_as_string(hide_password=False))

    async def use(reads: AsyncReads) -> list[str]:
        zone = await reads.run(lambda: _one(_TIMEZONE))
        name = await reads.run(lambda: _one(_APPLICATION))
        return [zone, name]

    assert _with_pool(pg_engine, use, database_url=settings.database_url) == [
        "UTC",
        "uab-reads-test",
    ]


def _one(statement: Any) -> Steps[Any]:
    rows = yield Read(statement, {})
    return rows[0][0]


def test_a_read_after_the_pool_closed_is_a_503(pg_engine: Engine) -> None:
    """The server stopping (a stream's read at shutdown): 503, not the pool's own error."""

    async def use(reads: AsyncReads) -> None:
        await reads.close()
        await reads.run(lambda: _one(_PID))

    with pytest.raises(DatabaseUnavailableError, match="shutting down"):
        _with_pool(pg_engine, use)


_LONG_SLEEP = select(func.pg_sleep(30).label("slept"))


def test_closing_waits_briefly_for_reads_then_ends_them(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server stopping does not wait for a read without end: after ``CLOSE_SECONDS``
    the reads' connections are ended (the read fails) and the pool is closed."""
    monkeypatch.setattr(async_reads, "CLOSE_SECONDS", 0.3)

    async def use(reads: AsyncReads) -> BaseException | None:
        slow = asyncio.ensure_future(reads.run(lambda: _one(_LONG_SLEEP)))
        await asyncio.sleep(0.3)  # the read is under way
        await reads.close()
        done = await asyncio.gather(slow, return_exceptions=True)
        return done[0] if isinstance(done[0], BaseException) else None

    failed = _with_pool(pg_engine, use)
    assert isinstance(failed, DatabaseUnavailableError)


def test_a_pool_that_cannot_connect_says_why_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The 503 says only that the database cannot be reached; the log says why, once in
    a while, not once a request."""
    url = f"postgresql://nobody@127.0.0.1:{_closed_port()}/nothing"

    async def run() -> None:
        reads = AsyncReads(Settings(database_url=url, database_pool_timeout=2).database)
        await reads.open()
        try:
            for _ in range(3):
                with pytest.raises(DatabaseUnavailableError):
                    await reads.run(lambda: _one(_PID))
        finally:
            await reads.close()

    asyncio.run(run())
    said = [r.getMessage() for r in caplog.records if "cannot connect" in r.getMessage()]
    assert len(said) == 1, said
    assert "ConnectionRefusedError" in said[0] or "OSError" in said[0], said


def test_connections_are_replaced_after_pool_recycle_seconds(pg_engine: Engine) -> None:
    """As the engine's: a connection lives at most ``pool_recycle`` seconds, in use or not."""

    async def use(reads: AsyncReads) -> list[int]:
        first = await reads.run(lambda: _one(_PID))
        await asyncio.sleep(1.6)  # past the recycle time
        return [first, await reads.run(lambda: _one(_PID))]

    first, later = _with_pool(pg_engine, use, database_pool_recycle=1, database_async_pool_size=1)
    assert first != later
