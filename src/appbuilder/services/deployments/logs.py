"""A deployment's log file: the platform's steps and then the app's own output, in one
file per deployment, read back as a tail or followed as it grows.

Following is one loop (``follow_deployment``) for the API, the web UI and the command
line, on an event loop: between reads it waits without a thread, so a server's followers
cost it a task each, not one of its few worker threads each (40 followers held them all).
What waits differs by caller, so the caller passes it in: the server its database gate
(``place``) and a pause that ends when the client leaves or the server stops, the command
line nothing."""

from __future__ import annotations

import codecs
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import anyio
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.models import Deployment
from appbuilder.db.session import reading
from appbuilder.services.deployments.queries import is_running

#: how much of the end of a log a Deployment row keeps (the file has all of it)
ROW_TAIL_BYTES = 8_000
MAX_TAIL_LINES = 5_000
#: how often a follower looks for new lines and asks whether the deployment still runs
POLL_SECONDS = 0.5
#: how long the followers of a deployment share one answer to "still running?"
SHARED_FOR = POLL_SECONDS * 0.8
#: answers kept before the old ones are forgotten
MAX_SHARED = 1_000
#: the most a tail (and one later read) takes from the file
READ_BYTES = 1_000_000

#: a database place to hold while asking whether the deployment runs (the server's gate)
Place = Callable[[], AbstractAsyncContextManager[object]]
#: waits ``seconds`` between reads; False when the reader goes away
Pause = Callable[[float], Awaitable[bool]]


def tail(path: Path, lines: int = 200, *, max_bytes: int = READ_BYTES) -> str:
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
    return _last_lines(text, lines)


def row_tail(path: Path) -> str:
    text = tail(path, MAX_TAIL_LINES, max_bytes=ROW_TAIL_BYTES)
    return text[-ROW_TAIL_BYTES:]


class LogReader:
    """One follower's place in a log: its tail, then only the bytes written since, decoded
    so that a character split between two writes arrives whole. Each call is one small
    read of a local file (run in a thread by ``follow``: the data folder may be a network
    mount, where even a stat can stall the event loop)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.position = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def start(self, lines: int) -> str:
        """The last ``lines`` lines; what follows is read from where this read ended (a
        line written between the tail and the first read is not lost)."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(0, 2)
                start = max(0, handle.tell() - READ_BYTES)
                handle.seek(start)
                data = handle.read()
        except FileNotFoundError:
            return ""
        self.position = start + len(data)
        return _last_lines(self._decoder.decode(data), lines)

    def read(self) -> str:
        """What was written since the last read ("" when nothing was)."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.position)
                data = handle.read(READ_BYTES)
        except FileNotFoundError:
            return ""
        self.position += len(data)
        return self._decoder.decode(data)


def deployment_running(sessions: sessionmaker[Session], deployment_id: str) -> bool:
    """``queries.is_running`` read fresh: the rule by which every follower stops. A reading
    session, so that on SQLite followers do not queue for the write lock."""
    with reading(sessions) as session:
        row = session.get(Deployment, deployment_id)
        return row is not None and is_running(row)


#: "still running?" answers shared by the followers of a deployment in this process:
#: deployment id -> (when asked, on the monotonic clock; the answer)
_answers: dict[str, tuple[float, bool]] = {}


async def _still_running(sessions: sessionmaker[Session], deployment_id: str, place: Place) -> bool:
    """Whether the deployment still runs, asked of the database at most about once a poll
    per deployment however many follow it here (100 followers of one deployment asked 200
    times a second: most of their idle cost). An answer is shared for less than a poll, so
    a follower still sees the end within two polls, its last lines included."""
    now = time.monotonic()
    known = _answers.get(deployment_id)
    if known is not None and now - known[0] < SHARED_FOR:
        return known[1]
    async with place():
        running = await anyio.to_thread.run_sync(deployment_running, sessions, deployment_id)
    _answers[deployment_id] = (time.monotonic(), running)
    if len(_answers) > MAX_SHARED:  # followers long gone: forget their answers
        for old in [k for k, (at, _) in _answers.items() if now - at >= SHARED_FOR]:
            _answers.pop(old, None)
    return running


@asynccontextmanager
async def _no_place() -> AsyncIterator[None]:
    yield


async def _sleep(seconds: float) -> bool:
    await anyio.sleep(seconds)
    return True


async def follow_deployment(
    sessions: sessionmaker[Session],
    path: Path,
    deployment_id: str,
    lines: int,
    *,
    place: Place = _no_place,
    pause: Pause = _sleep,
) -> AsyncIterator[str]:
    """The tail, then every new chunk as it is written, until the deployment ends (its
    last lines included: whether it runs is asked before the read) or ``pause`` says the
    reader goes away. Empty reads are not yielded.

    Threads are taken only for a read or the database check, never to wait, and the check
    runs inside ``place`` (the server's gate: a follower never waits for a connection
    in a thread, the deadlock the gate exists to prevent)."""
    reader = LogReader(path)
    if text := await anyio.to_thread.run_sync(reader.start, lines):
        yield text
    while True:
        running = await _still_running(sessions, deployment_id, place)
        if text := await anyio.to_thread.run_sync(reader.read):
            yield text
        if not running or not await pause(POLL_SECONDS):
            return


def _last_lines(text: str, lines: int) -> str:
    return "".join(text.splitlines(keepends=True)[-lines:])
