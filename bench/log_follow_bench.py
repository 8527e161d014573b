"""Followed deployment logs: what many followers cost one server process, whether other
requests are still answered beside them, and how fast a line and the end reach them.

    python bench/log_follow_bench.py postgresql://postgres@127.0.0.1:5432/uab_bench_logs

Migrates the database, starts one `uab serve` process on it, signs up one account with a
deployment being carried out (a row IN_PROGRESS and its log file, written by this script
as the deploying process would), and times ``BENCH_REQUESTS`` (default 30) ordinary
requests (``GET /api/deployments/{id}``) alone. Then it opens ``BENCH_FOLLOWERS`` (default
100: more than the server's 40 worker threads) follows of the log, holds them idle for
``BENCH_SECONDS`` (default 20) while reading the server's CPU time from /proc, times the
same requests again, times lines written to the log to their arrival at one follower, and
the end of the deployment to the end of every follow.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import update
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serving import SECRET, UAB, WRITERS, cpu_seconds, open_held  # noqa: E402
from tests.servers import free_port, wait_until_up  # noqa: E402

from appbuilder.db import migrate  # noqa: E402
from appbuilder.db.models import Deployment  # noqa: E402
from appbuilder.db.session import make_engine, make_session_factory  # noqa: E402
from appbuilder.enums import DeploymentStatus  # noqa: E402
from appbuilder.services.deployments import DeployContext  # noqa: E402
from appbuilder.settings import Settings  # noqa: E402

FOLLOWERS = int(os.environ.get("BENCH_FOLLOWERS", "100"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30"))
LINES = 10
#: the end of a chunked response
LAST_CHUNK = b"\r\n0\r\n\r\n"


async def open_follow(port: int, path: str, token: str) -> asyncio.StreamReader:
    # up to the tail's last line: now it waits
    return await open_held(port, path, token, "Connection: close", b"[deploy] started\n")


async def request_times(port: int, path: str, token: str) -> list[float]:
    """Each on a new connection, one after another, as separate users' requests."""
    took = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        for _ in range(REQUESTS):
            started = time.perf_counter()
            answer = await client.get(
                path, headers={"Authorization": f"Bearer {token}", "Connection": "close"}
            )
            answer.raise_for_status()
            took.append((time.perf_counter() - started) * 1000)
    return took


def summary(millis: list[float]) -> str:
    return f"p50 {statistics.median(millis):.1f} ms, max {max(millis):.1f} ms"


async def measure(port: int, token: str, pid: int, log: Path, end: Callable[[], None]) -> None:
    deployment_id = log.stem
    detail = f"/api/deployments/{deployment_id}"
    print(f"{REQUESTS} requests alone: {summary(await request_times(port, detail, token))}")
    started = time.perf_counter()
    path = f"{detail}/logs?follow=true&lines={LINES}"
    readers = []
    for first in range(0, FOLLOWERS, 50):  # in batches: the server's backlog is bounded
        count = min(FOLLOWERS, first + 50) - first
        readers += await asyncio.gather(*(open_follow(port, path, token) for _ in range(count)))
    print(f"{len(readers)} follows open in {time.perf_counter() - started:.1f} s")
    await asyncio.sleep(2)  # settle
    before, clock = cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(SECONDS)
    used, elapsed = cpu_seconds(pid) - before, time.perf_counter() - clock
    print(
        f"idle: server CPU {used:.2f} s in {elapsed:.0f} s = {100 * used / elapsed:.2f} % "
        f"of a core for {len(readers)} follows"
    )
    beside = await request_times(port, detail, token)
    print(f"{REQUESTS} requests beside {len(readers)} follows: {summary(beside)}")
    arrivals = []
    waits = random.Random(14)
    for number in range(10):
        await asyncio.sleep(waits.uniform(0, 0.5))  # anywhere between two polls
        marker = f"bench line {number}\n"
        sent = time.perf_counter()
        with log.open("a", encoding="utf-8") as handle:
            handle.write(marker)
        await readers[-1].readuntil(marker.encode())
        arrivals.append((time.perf_counter() - sent) * 1000)
    print(f"a line to a follower: {summary(arrivals)} (polled every 0.5 s)")
    ended = time.perf_counter()
    await asyncio.to_thread(end)
    await asyncio.gather(*(reader.readuntil(LAST_CHUNK) for reader in readers))
    took = (time.perf_counter() - ended) * 1000
    print(f"the deployment ended: all {len(readers)} follows ended within {took:.0f} ms")
    for writer in WRITERS:
        writer.close()


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp()}/logs.db"
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    data_dir = tempfile.mkdtemp(prefix="uab-logs-bench-")
    settings = Settings(database_url=url, secret_key=SECRET, data_dir=data_dir)
    engine = make_engine(settings.database)
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    port = free_port()
    env = {
        **os.environ,
        "UAB_DATABASE_URL": url,
        "UAB_SECRET_KEY": SECRET,
        "UAB_MAX_STREAMS_PER_USER": str(FOLLOWERS + 10),
        "UAB_DATA_DIR": data_dir,
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
            project = client.post(
                "/api/projects",
                json={"name": "Followed", "template": "BLOG"},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
        ctx = DeployContext(sessions, settings.projects_dir, settings.deployments_dir)
        with sessions.begin() as session:
            row = Deployment(
                project_id=project["id"], target="docker", status=DeploymentStatus.IN_PROGRESS
            )
            session.add(row)
            session.flush()
            log = ctx.log_path(row)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("[deploy] started\n")

        def end() -> None:
            with sessions.begin() as session:
                session.execute(
                    update(Deployment)
                    .where(Deployment.id == log.stem)
                    .values(status=DeploymentStatus.CANCELLED)
                )

        print(f"database: {make_url(url).get_backend_name()}, server pid {process.pid}")
        asyncio.run(measure(port, token, process.pid, log, end))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        engine.dispose()


if __name__ == "__main__":
    main()
