"""What the benches that start `uab serve` share: its command, a fixed secret, a server
process on a free port, its CPU time, and connections held open (a follow, a stream) until
the bench ends."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers import free_port, wait_until_up

UAB = str(Path(sys.executable).with_name("uab"))
SECRET = "bench-secret-key-kZ3x9-Qw7Lp2Rt8Vb4Nm6Yc1Hd5Jf0Gs"  # noqa: S105 - benchmark only
TICKS = os.sysconf("SC_CLK_TCK")
#: every held connection (a writer collected closes its connection)
WRITERS: list[asyncio.StreamWriter] = []


@contextmanager
def served(command: list[str], env: dict[str, str], *, ready: str) -> Iterator[tuple[int, int]]:
    """``command`` with ``--port N`` (a free one) added, from the project's root, once
    ``ready`` (a path) answers at all: its port and pid; stopped (SIGTERM) at the end."""
    port = free_port()
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process, path=ready, timeout=60)
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    """The process's user + system time so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


async def open_held(
    port: int, path: str, token: str, header: str, until: bytes
) -> asyncio.StreamReader:
    """GET ``path`` and read its answer up to ``until`` (what comes before it waits); the
    connection stays open in ``WRITERS``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
        f"{header}\r\n\r\n".encode()
    )
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"{path} refused: {status!r}")
    await reader.readuntil(until)
    WRITERS.append(writer)
    return reader
