"""Engines and sessions.

One engine per database URL per process. SQLite gets the pragmas that make it a fair
embedded database (foreign keys enforced, WAL, a busy timeout) and real transactions:
pysqlite's legacy mode would otherwise commit DDL on its own and start transactions late,
which breaks "multi-step writes are one transaction".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.settings import DatabaseSettings

SQLITE_BUSY_TIMEOUT_MS = 10_000
READ_ONLY = "uab_read_only"


def make_engine(database: DatabaseSettings) -> Engine:
    url = database.url
    if database.is_sqlite:
        _ensure_sqlite_folder(url)
        in_memory = not url.database or url.database == ":memory:" or "mode=memory" in str(url)
        pool: dict[str, Any] = (
            {}  # one connection, kept by its thread
            if in_memory
            else {
                "pool_size": database.pool_size,
                "max_overflow": database.max_overflow,
                "pool_timeout": database.pool_timeout,
            }
        )
        engine = create_engine(
            url,
            echo=database.echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **pool,
        )
        _install_sqlite_behaviour(engine)
        return engine
    return create_engine(
        url,
        echo=database.echo,
        pool_size=database.pool_size,
        max_overflow=database.max_overflow,
        pool_pre_ping=database.pool_pre_ping,
        pool_timeout=database.pool_timeout,
        pool_recycle=database.pool_recycle,
        connect_args={"connect_timeout": database.connect_timeout},
    )


def _ensure_sqlite_folder(url: URL) -> None:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_behaviour(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front. A deferred transaction that reads and
        # then writes while another connection commits fails at once with "database is
        # locked" (the busy timeout does not apply to that upgrade); this one waits instead.
        # Sessions made by ``reading()`` only read, so they don't queue for that lock.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: services return rows that callers read after the commit.
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commits if the block ends normally, rolls back on any exception."""
    with factory.begin() as session:
        yield session


def reading(factory: sessionmaker[Session]) -> Session:
    """A session for reads only (pollers: live progress, cancel checks). On SQLite it
    doesn't take the write lock, so frequent polling doesn't hold up the writers."""
    engine: Engine = factory.kw["bind"]
    return factory(bind=engine.execution_options(**{READ_ONLY: True}))
