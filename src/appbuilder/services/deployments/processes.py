"""The operating-system side of a local deployment: is this pid still the process we
started, and stopping it.

A pid alone is not an identity: after a crash the kernel may give the number to another
process. The kernel's start time of the pid (``/proc/<pid>/stat``, in clock ticks since
boot) is recorded with it, so a platform that restarts re-adopts only its own process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from pathlib import Path

PROC = Path("/proc")


def start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid``; None when it is gone or a zombie."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ")"
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # exited, not yet reaped by its parent
        _reap(pid)
        return None
    return int(fields[19])


def _reap(pid: int) -> None:
    """A child of this process that exited stays a zombie until waited for."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def is_running(pid: int | None, started: int | None) -> bool:
    """True when ``pid`` is alive and is the process that started at ``started``."""
    if pid is None or started is None:
        return False
    return start_time(pid) == started


def stop(pid: int, started: int | None, *, grace: float = 15.0) -> None:
    """SIGTERM the process group (uvicorn finishes open requests), SIGKILL after ``grace``."""
    if not is_running(pid, started):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_running(pid, started):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    while is_running(pid, started):
        time.sleep(0.05)


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """Nobody listens on the loopback ``port`` now (a stopped app's port, reused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
