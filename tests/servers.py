"""Real servers on loopback for tests and benchmarks: a free port, and waiting until one
answers. One place, so every caller gets the same deadline and the same failure."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(check: Callable[[], bool], timeout: float = 180, poll: float = 0.1) -> None:
    """Return once ``check()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout:g} s"
        time.sleep(poll)


def wait_until_up(
    url: str, process: subprocess.Popen[Any], *, path: str = "/healthz", timeout: float = 60
) -> None:
    """Return once the server answers any HTTP response at ``path``; fail if it dies first."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            httpx.get(f"{url}{path}", timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
        else:
            return
    raise AssertionError(f"the server at {url} did not come up (exit code {process.poll()})")


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started with ``start_new_session=True`` and its children: TERM (its
    grace to finish cleanly), KILL after 30 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
