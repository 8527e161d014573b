"""A deployment's log file: the platform's steps and then the app's own output, in one
file per deployment, read back as a tail or followed as it grows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

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
    last lines included) or ``stopping`` says the reader goes away."""
    yield tail(path, lines)
    try:
        position = path.stat().st_size
    except FileNotFoundError:
        position = 0
    while True:
        running = still_running()
        chunk, position = _read_from(path, position)
        if chunk:
            yield chunk
        if not running or stopping():
            return
        time.sleep(poll)


def _read_from(path: Path, position: int) -> tuple[str, int]:
    try:
        with path.open("rb") as handle:
            handle.seek(position)
            data = handle.read(1_000_000)
    except FileNotFoundError:
        return "", position
    return data.decode("utf-8", "replace"), position + len(data)
