"""What every command needs: checked settings, an engine, a console; and the one place
where platform errors become a message and an exit status."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.session import make_engine, make_session_factory
from appbuilder.errors import AppBuilderError
from appbuilder.settings import Settings, get_settings

# soft_wrap: long paths, keys and URLs stay on one line, so they can be copied.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class Database:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]


@contextmanager
def open_database() -> Iterator[Database]:
    settings = get_settings()
    engine = make_engine(settings.database)
    try:
        yield Database(settings, engine, make_session_factory(engine))
    finally:
        engine.dispose()


def report_error(error: AppBuilderError) -> None:
    err_console.print(f"[bold red]Error:[/] {escape(error.message)}", highlight=False)
