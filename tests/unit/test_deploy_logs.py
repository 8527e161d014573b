"""Following a deployment's log: a step of the follow returns while the log is idle (a
server runs each step in a worker thread; a step that waited for new output kept that
thread after the reader left), and a character split between two writes arrives whole."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

from appbuilder.services.deployments.logs import follow


def step(stream: Iterator[str]) -> str:
    """One step of the follow, in a daemon thread (a step that never returns fails the
    test instead of hanging it)."""
    answers: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: answers.put(next(stream)), daemon=True).start()
    return answers.get(timeout=5)


def test_an_idle_follow_hands_back_control_and_joins_split_characters(tmp_path: Path) -> None:
    log = tmp_path / "deploy.log"
    log.write_bytes(b"[deploy] started\n")
    stream = follow(log, 10, still_running=lambda: True, poll=0.01)
    assert step(stream) == "[deploy] started\n"
    assert step(stream) == ""  # idle: back at once
    word = "caf\u00e9\n".encode()
    with log.open("ab") as handle:
        handle.write(word[:-2])  # "caf" and the first byte of "é"
    first = step(stream)
    with log.open("ab") as handle:
        handle.write(word[-2:])
    second = step(stream)
    assert first + second == "caf\u00e9\n"
    assert "\ufffd" not in first + second
