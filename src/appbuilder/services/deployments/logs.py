"""A deployment's log file: the platform's steps and then the app's own output, in one
file per deployment, read back as a tail or followed as it grows."""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.models import Deployment
from appbuilder.services.deployments.queries import is_running

#: how much of the end of a log a Deployment row keeps (the file has all of it)
ROW_TAIL_BYTES = 8_000
MAX_TAIL_LINES = 5_000


def tail(path: Path, lines: int = 200, *, max_bytes: int = 1_000_000) -> str:
    """The last ``lines`` lines (reading at most ``max_bytes`` from the end)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except FileNotFoundError:
        return ""
    text = data.decode("utf-8", "replace")
    return "".join(text.splitlines(keepends=True)[-lines:])


def row_tail(path: Path) -> str:
    text = tail(path, MAX_TAIL_LINES, max_bytes=ROW_TAIL_BYTES)
    return text[-ROW_TAIL_BYTES:]


def follow(
    path: Path,
    lines: int,
    *,
    still_running: Callable[[], bool],
    stopping: Callable[[], bool] = lambda: False,
    poll: float = 0.5,
) -> Iterator[str]:
    """The tail, then every new chunk as it is written, until the deployment ends (its
    last lines included) or ``stopping`` says the reader goes away.

    An idle poll yields "": a server runs each step of this generator in a worker thread,
    and a step that waited for the log to grow would keep that thread after the reader
    left (one thread per closed tab, until the pool is gone)."""
    yield tail(path, lines)
    try:
        position = path.stat().st_size
    except FileNotFoundError:
        position = 0
    decoder = codecs.getincrementaldecoder("utf-8")("replace")  # a character may span reads
    while True:
        running = still_running()
        data, position = _read_from(path, position)
        yield decoder.decode(data)
        if not running or stopping():
            return
        time.sleep(poll)


def follow_deployment(
    sessions: sessionmaker[Session],
    path: Path,
    deployment_id: str,
    lines: int,
    *,
    stopping: Callable[[], bool] = lambda: False,
) -> Iterator[str]:
    """``follow`` for as long as the deployment is running (``queries.is_running``): the
    API, the web UI and the CLI follow a log by this one rule."""

    def running() -> bool:
        with sessions() as check:
            row = check.get(Deployment, deployment_id)
            return row is not None and is_running(row)

    return follow(path, lines, still_running=running, stopping=stopping)


def _read_from(path: Path, position: int) -> tuple[bytes, int]:
    try:
        with path.open("rb") as handle:
            handle.seek(position)
            data = handle.read(1_000_000)
    except FileNotFoundError:
        return b"", position
    return data, position + len(data)
