"""Generation runs through the PostgreSQL queue: throughput with 1 and 2 worker processes,
and what the queue adds to a run.

Run from the repository root (PostgreSQL on 127.0.0.1; the database is recreated):

    .venv/bin/python bench/queue_bench.py [postgresql://postgres@127.0.0.1/uab_qbench]

Drain: 50 runs (verification off, the five templates in turn, 50 projects) are queued,
then N `uab worker --concurrency 1` processes start; throughput is runs per second from
the workers' start to the last run's end. Each run must end COMPLETED after exactly one
attempt, with one `started` and one `finished` event and one succeeded procrastinate job.

Latency: with one idle worker, runs are queued one at a time; "request to first step" is
the run row's insert to the worker's first step event (both database clocks), and "queue
overhead" is that minus nothing else: the time the run waited before a worker started it.
"""

from __future__ import annotations

import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db import migrate
from appbuilder.db.models import GenerationRun, Project, RunEvent, User
from appbuilder.db.session import make_engine, make_session_factory
from appbuilder.enums import ProjectTemplate, RunStatus, SubscriptionTier
from appbuilder.jobs.queue import Queue
from appbuilder.services import runs
from appbuilder.settings import Settings

RUNS = 50
LATENCY_SAMPLES = 20
UAB = str(Path(sys.executable).with_name("uab"))
TEMPLATES = list(ProjectTemplate)
CUSTOM_SPEC = {
    "entities": [
        {"name": "Task", "fields": [{"name": "title", "type": "string", "required": True}]}
    ]
}


def recreate(url: str) -> None:
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def cpu_busy_seconds() -> float:
    """CPU time the whole machine spent busy (workers, PostgreSQL, git, ruff), from
    /proc/stat: what bounds how far more workers can scale on these cores."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def fresh_database(url: str) -> tuple[Engine, sessionmaker[Session], Queue]:
    """An empty, migrated database (procrastinate's schema included) and its queue."""
    recreate(url)
    settings = Settings(database_url=url)
    engine = make_engine(settings.database)
    migrate.upgrade(engine)
    return engine, make_session_factory(engine), Queue(settings.database.url)


def setup_projects(sessions: sessionmaker[Session], count: int) -> list[tuple[str, str]]:
    made = []
    with sessions.begin() as session:
        user = User(
            email="bench@example.com",
            password_hash="x",
            subscription_tier=SubscriptionTier.ENTERPRISE,
        )
        session.add(user)
        session.flush()
        for number in range(count):
            template = TEMPLATES[number % len(TEMPLATES)]
            config = {"spec": CUSTOM_SPEC} if template is ProjectTemplate.CUSTOM else {}
            project = Project(
                user_id=user.id, name=f"Bench {number}", template=template, config=config
            )
            session.add(project)
            session.flush()
            made.append((user.id, project.id))
    return made


def enqueue(sessions: sessionmaker[Session], queue: Queue, user_id: str, project_id: str) -> str:
    with sessions.begin() as session:
        user = session.get_one(User, user_id)
        return runs.start_run(session, queue, user, project_id, verify=False).id


def start_workers(count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen[bytes]]:
    started = []
    for number in range(count):
        with (logs / f"worker-{number}.log").open("wb") as log:
            started.append(
                subprocess.Popen(
                    [UAB, "worker", "--concurrency", "1"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    return started


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.wait(60)


def finished(sessions: sessionmaker[Session], ids: list[str]) -> int:
    with sessions() as session:
        return (
            session.scalar(
                select(func.count()).where(
                    GenerationRun.id.in_(ids),
                    GenerationRun.status.in_([RunStatus.COMPLETED, RunStatus.FAILED]),
                )
            )
            or 0
        )


def check_exactly_once(sessions: sessionmaker[Session], ids: list[str]) -> str:
    with sessions() as session:
        rows = session.execute(
            select(GenerationRun.status, GenerationRun.attempts).where(GenerationRun.id.in_(ids))
        ).all()
        kinds = session.execute(
            select(RunEvent.kind, func.count())
            .where(RunEvent.run_id.in_(ids), RunEvent.kind.in_(["started", "finished"]))
            .group_by(RunEvent.kind)
        ).all()
        jobs = session.execute(
            text("SELECT status, count(*) FROM procrastinate_jobs GROUP BY status")
        ).all()
    completed = sum(1 for status, attempts in rows if status is RunStatus.COMPLETED)
    once = all(attempts == 1 for _, attempts in rows)
    ok = (
        completed == len(ids)
        and once
        and dict(kinds) == {"started": len(ids), "finished": len(ids)}
        and dict(jobs) == {"succeeded": len(ids)}
    )
    return (
        f"{'OK' if ok else 'FAILED'}: {completed}/{len(ids)} completed, "
        f"attempts all 1: {once}, events {dict(kinds)}, jobs {dict(jobs)}"
    )


def drain(url: str, workers: int, env: dict[str, str], logs: Path) -> dict[str, object]:
    engine, sessions, queue = fresh_database(url)
    ids = [enqueue(sessions, queue, u, p) for u, p in setup_projects(sessions, RUNS)]
    started = time.perf_counter()
    busy_before = cpu_busy_seconds()
    processes = start_workers(workers, env, logs)
    while finished(sessions, ids) < len(ids):
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    cores_busy = (cpu_busy_seconds() - busy_before) / seconds
    stop_workers(processes)
    verdict = check_exactly_once(sessions, ids)
    with sessions() as session:
        busy = session.execute(
            select(GenerationRun.started_at, GenerationRun.finished_at).where(
                GenerationRun.id.in_(ids)
            )
        ).all()
    per_run = [(end - begin).total_seconds() for begin, end in busy]
    # the workers' own window: first run started to last run finished (no process start-up)
    window = (max(e for _, e in busy) - min(b for b, _ in busy)).total_seconds()
    engine.dispose()
    return {
        "workers": workers,
        "cores_busy": cores_busy,
        "seconds": seconds,
        "window": window,
        "throughput": len(ids) / window,
        "run_median_s": statistics.median(per_run),
        "verdict": verdict,
    }


def _delay_ms(created: datetime, first: datetime) -> float:
    return (first - created).total_seconds() * 1000


def latency(url: str, env: dict[str, str], logs: Path) -> dict[str, object]:
    engine, sessions, queue = fresh_database(url)
    projects = setup_projects(sessions, LATENCY_SAMPLES)
    processes = start_workers(1, env, logs)
    time.sleep(3)  # the worker is up and listening
    delays, claims, totals = [], [], []
    for user_id, project_id in projects:
        run_id = enqueue(sessions, queue, user_id, project_id)
        while finished(sessions, [run_id]) < 1:
            time.sleep(0.02)
        with sessions() as session:
            run = session.get_one(GenerationRun, run_id)
            first = session.scalar(
                select(RunEvent.created_at)
                .where(RunEvent.run_id == run_id, RunEvent.kind == "step_started")
                .order_by(RunEvent.seq)
                .limit(1)
            )
            claimed = session.scalar(
                select(RunEvent.created_at).where(
                    RunEvent.run_id == run_id, RunEvent.kind == "started"
                )
            )
            assert first is not None
            assert claimed is not None
            assert run.finished_at is not None
            delays.append(_delay_ms(run.created_at, first))
            claims.append(_delay_ms(run.created_at, claimed))
            totals.append(_delay_ms(run.created_at, run.finished_at))
        time.sleep(0.2)
    stop_workers(processes)
    engine.dispose()
    delays.sort()
    claims.sort()
    return {
        "claim_p50_ms": statistics.median(claims),
        "claim_p95_ms": claims[int(0.95 * (len(claims) - 1))],
        "p50_ms": statistics.median(delays),
        "p95_ms": delays[int(0.95 * (len(delays) - 1))],
        "max_ms": delays[-1],
        "run_total_median_ms": statistics.median(totals),
    }


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1/uab_qbench"
    data_dir = Path(tempfile.mkdtemp(prefix="uab-qbench-"))
    env = {
        **os.environ,
        "UAB_DATABASE_URL": url,
        "UAB_DATA_DIR": str(data_dir),
        "UAB_ENV": "development",
    }
    os.environ.update({"UAB_DATA_DIR": str(data_dir)})
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"
    )
    results = [drain(url, workers, env, data_dir) for workers in (1, 2)]
    for result in results:
        print(
            f"drain {RUNS} runs, {result['workers']} worker(s): {result['window']:.1f} s from "
            f"first start to last end ({result['seconds']:.1f} s with process start-up), "
            f"{result['throughput']:.2f} runs/s, median run {result['run_median_s']:.2f} s, "
            f"machine busy {result['cores_busy']:.2f} of {os.cpu_count()} cores; "
            f"{result['verdict']}"
        )
    ratio = float(results[1]["throughput"]) / float(results[0]["throughput"])  # type: ignore[arg-type]
    print(f"2 workers / 1 worker throughput: {ratio:.2f}x (goal >= 1.7x)")
    measured = latency(url, env, data_dir)
    print(
        f"request to first step ({LATENCY_SAMPLES} runs, idle worker): "
        f"p50 {measured['p50_ms']:.0f} ms, p95 {measured['p95_ms']:.0f} ms, "
        f"max {measured['max_ms']:.0f} ms; request to a worker taking the run (the queue's "
        f"part; goal < 50 ms): p50 {measured['claim_p50_ms']:.0f} ms, "
        f"p95 {measured['claim_p95_ms']:.0f} ms; whole run median "
        f"{measured['run_total_median_ms']:.0f} ms"
    )


if __name__ == "__main__":
    main()
