"""Idle live-progress streams: what they cost one server process, and how fast an event
reaches one of them.

    python bench/stream_bench.py postgresql://postgres@127.0.0.1:5432/uab_bench_streams

Migrates the (empty or earlier-used) database, starts one `uab serve` process on it, signs
up one account with a run that stays queued, opens ``BENCH_STREAMS`` (default 1,000)
streams of that run and holds them idle for ``BENCH_SECONDS`` (default 60) while reading
the server's CPU time from /proc. Then it writes ``BENCH_EVENTS`` events from another
connection (as a worker would) and times each one's arrival on one of the streams. Run
it once with a PostgreSQL URL (streams wait for a notice) and once with a SQLite one
(``sqlite:////tmp/streams.db``: streams poll) to compare.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serving import SECRET, UAB, WRITERS, cpu_seconds, open_held  # noqa: E402
from tests.servers import free_port, wait_until_up  # noqa: E402

from appbuilder.db import migrate  # noqa: E402
from appbuilder.db.models import User  # noqa: E402
from appbuilder.db.session import make_engine, make_session_factory  # noqa: E402
from appbuilder.db.types import utcnow  # noqa: E402
from appbuilder.enums import SubscriptionTier  # noqa: E402
from appbuilder.jobs.runner import EmbeddedDispatcher  # noqa: E402
from appbuilder.services import runs  # noqa: E402
from appbuilder.services.runs import events  # noqa: E402
from appbuilder.settings import Settings  # noqa: E402

STREAMS = int(os.environ.get("BENCH_STREAMS", "1000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "20"))
#: the server's database places (pool size + overflow, the defaults)
GATE = 40


def prepare(url: str) -> tuple[Settings, str]:
    settings = Settings(database_url=url, secret_key=SECRET)
    engine = make_engine(settings.database)
    migrate.upgrade(engine)
    engine.dispose()
    return settings, url


async def open_stream(port: int, path: str, token: str) -> asyncio.StreamReader:
    # up to what the run said before: now it waits
    return await open_held(port, path, token, "Accept: text/event-stream", b"event: queued")


def sessions_of(settings: Settings) -> sessionmaker[Session]:
    return make_session_factory(make_engine(settings.database))


async def time_events(
    reader: asyncio.StreamReader, run_id: str, append: Callable[[str, str], None], count: int
) -> list[float]:
    delays = []
    for number in range(count):
        marker = f"bench-{run_id}-{number}"
        sent = time.perf_counter()
        await asyncio.to_thread(append, run_id, marker)
        await reader.readuntil(marker.encode())
        delays.append((time.perf_counter() - sent) * 1000)
        await asyncio.sleep(0.2)
    return delays


async def measure(
    port: int, token: str, pid: int, append: Callable[[str, str], None], run_ids: list[str]
) -> None:
    paths = [f"/api/runs/{run_id}/events" for run_id in run_ids]
    started = time.perf_counter()
    readers = []
    for first in range(0, STREAMS, 100):  # in batches: the server's backlog is bounded
        readers += await asyncio.gather(
            *(open_stream(port, paths[0], token) for _ in range(first, min(STREAMS, first + 100)))
        )
    watched = await open_stream(port, paths[1], token)
    print(f"{len(readers)} streams open in {time.perf_counter() - started:.1f} s")
    await asyncio.sleep(2)  # settle
    before, clock = cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(SECONDS)
    used, elapsed = cpu_seconds(pid) - before, time.perf_counter() - clock
    print(
        f"idle: server CPU {used:.2f} s in {elapsed:.0f} s = {100 * used / elapsed:.2f} % "
        f"of a core for {len(readers) + 1} streams"
    )
    alone = await time_events(watched, run_ids[1], append, EVENTS)
    print(
        f"event to the one stream of its run ({len(readers)} others idle): p50 "
        f"{statistics.median(alone):.1f} ms, max {max(alone):.1f} ms ({EVENTS} events)"
    )
    crowd = await time_events(readers[-1], run_ids[0], append, 5)
    print(
        f"event to a run with {len(readers)} streams (all woken, read {GATE} at a time): "
        f"p50 {statistics.median(crowd):.0f} ms, max {max(crowd):.0f} ms (5 events)"
    )
    for writer in WRITERS:
        writer.close()


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp()}/streams.db"
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    settings, url = prepare(url)
    port = free_port()
    env = {
        **os.environ,
        "UAB_DATABASE_URL": url,
        "UAB_SECRET_KEY": SECRET,
        "UAB_MAX_STREAMS_PER_USER": str(STREAMS + 10),
        "UAB_DATA_DIR": tempfile.mkdtemp(prefix="uab-streams-bench-"),
    }
    process = subprocess.Popen(
        [UAB, "serve", "--port", str(port), "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=None if os.environ.get("BENCH_SERVER_LOG") else subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process, path="/healthz", timeout=60)
        with httpx.Client(base_url=base, timeout=30) as client:
            email = f"bench-{time.time_ns()}@example.com"
            body = {"email": email, "password": "bench password 1", "name": "Bench"}
            client.post("/api/auth/register", json=body).raise_for_status()
            token = client.post(
                "/api/auth/login", json={"email": email, "password": "bench password 1"}
            ).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            project = client.post(
                "/api/projects", json={"name": "Streams", "template": "BLOG"}, headers=headers
            ).json()
            other = client.post(
                "/api/projects", json={"name": "Watched", "template": "BLOG"}, headers=headers
            ).json()
        sessions = sessions_of(settings)
        with sessions.begin() as session:
            user = session.query(User).filter_by(email=email).one()
            user.subscription_tier = SubscriptionTier.ENTERPRISE  # two runs at once
            session.flush()
            run_ids = []
            for made in (project, other):
                run = runs.start_run(session, EmbeddedDispatcher(), user, made["id"], verify=False)
                run.not_before = utcnow() + timedelta(hours=1)  # no worker takes it
                run_ids.append(run.id)

        def append(run_id: str, line: str) -> None:
            with sessions.begin() as session:
                events.append(session, run_id, "log", line=line)

        print(f"database: {make_url(url).get_backend_name()}, server pid {process.pid}")
        asyncio.run(measure(port, token, process.pid, append, run_ids))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


if __name__ == "__main__":
    main()
