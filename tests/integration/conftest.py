"""Real databases for integration tests: SQLite always, PostgreSQL when
``UAB_TEST_DATABASE_URL`` names a server database (CI always sets it).

Each test gets a fresh database cloned from a migrated template, the way procrastinate's
own suite does it: PostgreSQL ``CREATE DATABASE ... TEMPLATE``, or a file copy for SQLite.
Cloning costs a fraction of running the migrations for every test.
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from appbuilder.db import migrate
from appbuilder.db.session import make_engine, make_session_factory
from appbuilder.settings import Settings, get_settings
from tests.conftest import PG_URL_ENV

PG_URL = os.environ.get(PG_URL_ENV)
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
_counter = itertools.count()


def engine_for(url: URL | str) -> Engine:
    settings = Settings(database_url=str(url) if isinstance(url, URL) else url)
    return make_engine(settings.database)


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


class PostgresServer:
    """Creates and drops databases next to the one UAB_TEST_DATABASE_URL names.

    Cloning the migrated template takes the server 0.2-0.7 s, which every PostgreSQL test
    waited for: the next clone is made while a test runs (on one thread of its own; drops
    stay in the test's own teardown, so nothing of one test happens during the next)."""

    def __init__(self, url: str, worker: str) -> None:
        self.base = make_url(url).set(drivername="postgresql+psycopg")
        self.prefix = f"{self.base.database}_{worker}"
        self.admin = engine_for(self.base)
        self.admin = self.admin.execution_options(isolation_level="AUTOCOMMIT")
        self._ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-clone-ahead")
        self._next: Future[URL] | None = None

    def create(self, suffix: str, template: str | None = None) -> URL:
        name = f"{self.prefix}_{suffix}"
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            source = f' TEMPLATE "{template}"' if template else ""
            connection.execute(text(f'CREATE DATABASE "{name}"{source}'))
        return self.base.set(database=name)

    def clone(self, template: str) -> URL:
        """A new copy of ``template``: the one made while the last test ran, if any."""
        if self._next is None:
            made = self.create(str(next(_counter)), template)
        else:
            made = self._next.result()
        self._next = self._ahead.submit(self.create, str(next(_counter)), template)
        return made

    def drop(self, url: URL) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))

    def close(self) -> None:
        """Drop the clone no test took (it was made from the template: before that)."""
        if self._next is not None:
            self.drop(self._next.result())
        self._ahead.shutdown(wait=True)


@dataclass
class Backend:
    """One database kind under test: makes empty or migrated databases on demand."""

    name: str
    make_empty: Callable[[], URL]
    make_migrated: Callable[[], URL]
    cleanup: Callable[[URL], None]


@pytest.fixture(scope="session")
def sqlite_backend(tmp_path_factory: pytest.TempPathFactory) -> Backend:
    root = tmp_path_factory.mktemp("sqlite")
    template = root / "template.db"
    engine = engine_for(URL.create("sqlite", database=str(template)))
    migrate.upgrade(engine)
    engine.dispose()

    def new_path() -> Path:
        return root / f"db{next(_counter)}.db"

    def make_migrated() -> URL:
        path = new_path()
        shutil.copyfile(template, path)
        return URL.create("sqlite", database=str(path))

    def cleanup(url: URL) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url.database}{suffix}").unlink(missing_ok=True)

    return Backend(
        "sqlite",
        lambda: URL.create("sqlite", database=str(new_path())),
        make_migrated,
        cleanup,
    )


@pytest.fixture(scope="session")
def postgresql_backend(worker_id: str) -> Iterator[Backend]:
    if PG_URL is None:
        pytest.skip(f"{PG_URL_ENV} is not set")
    server = PostgresServer(PG_URL, worker_id)  # xdist: "gw0", ...; else "master"
    template_url = server.create("template")
    engine = engine_for(template_url)
    migrate.upgrade(engine)
    engine.dispose()
    template_name = str(template_url.database)
    yield Backend(
        "postgresql",
        lambda: server.create(str(next(_counter))),
        lambda: server.clone(template_name),
        server.drop,
    )
    server.close()
    server.drop(template_url)
    server.admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    backend: Backend = request.getfixturevalue(f"{request.param}_backend")
    request.node.user_properties.append(("database", backend.name))
    return backend


@contextmanager
def _current_database(url: URL, backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Iterator[URL]:
    """Point get_settings() (and so `uab` subprocesses) at ``url`` for the test, then drop it."""
    monkeypatch.setenv("UAB_DATABASE_URL", _render(url))
    get_settings.cache_clear()
    yield url
    backend.cleanup(url)


@pytest.fixture
def database_url(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Iterator[URL]:
    """A fresh, migrated database."""
    with _current_database(backend.make_migrated(), backend, monkeypatch) as url:
        yield url


@pytest.fixture
def empty_database_url(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Iterator[URL]:
    """A fresh database with no tables at all."""
    with _current_database(backend.make_empty(), backend, monkeypatch) as url:
        yield url


@pytest.fixture
def engine(database_url: URL) -> Iterator[Engine]:
    engine = engine_for(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def empty_engine(empty_database_url: URL) -> Iterator[Engine]:
    engine = engine_for(empty_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_session_factory(engine)() as session:
        yield session


@pytest.fixture
def pg_engine(
    postgresql_backend: Backend, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Engine]:
    """A migrated PostgreSQL database, for behaviour only PostgreSQL has (native types,
    query plans). Not parametrised: it never produces a skipped SQLite twin."""
    request.node.user_properties.append(("database", "postgresql"))
    with _current_database(
        postgresql_backend.make_migrated(), postgresql_backend, monkeypatch
    ) as url:
        engine = engine_for(url)
        yield engine
        engine.dispose()


#: name prefixes of the threads our server runs beside its requests
BACKGROUND_THREADS = ("uab-", "deploy-")


class StatementCounter:
    """Counts the SQL statements an engine sends, ignoring transaction control and the
    server's background threads (the job runner's and the deployment supervisor's polls
    come every few seconds, whatever the requests)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def __call__(self, *args: Any) -> None:
        statement: str = args[2]
        if threading.current_thread().name.startswith(BACKGROUND_THREADS):
            return
        if statement.split(maxsplit=1)[0].upper() not in {"BEGIN", "COMMIT", "ROLLBACK"}:
            self.statements.append(statement)

    def reset(self) -> None:
        self.statements.clear()


@pytest.fixture
def statements(engine: Engine) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)
