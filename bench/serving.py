"""What the benches that start `uab serve` share: its command, a fixed secret, the server
process's CPU time, and connections held open (a follow, a stream) until the bench ends."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

UAB = str(Path(sys.executable).with_name("uab"))
SECRET = "bench-secret-key-kZ3x9-Qw7Lp2Rt8Vb4Nm6Yc1Hd5Jf0Gs"  # noqa: S105 - benchmark only
TICKS = os.sysconf("SC_CLK_TCK")
#: every held connection (a writer collected closes its connection)
WRITERS: list[asyncio.StreamWriter] = []


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
