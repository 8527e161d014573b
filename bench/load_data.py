"""Bulk-load a PostgreSQL database for the API benchmark: 10,000 users, 100,000 projects,
1,000,000 generations, 10,000 runs and 310,000 run events, with COPY (minutes with the
ORM, seconds with COPY).

    python bench/load_data.py postgresql://postgres@127.0.0.1:5432/uab_bench

The database is reset and migrated first. Users u1..u1000 own 50 projects each, the rest
about 5.6; projects p1..p10000 have 100 generations each, so the benchmark has users with
more than a page of projects and projects with more than 50 generations; each of these
also has one completed run (r1..r10000) with 31 events, the stream of a finished run, and
the commit ``bench_repo.py`` makes (the file tree's). Every user's password is
"bench-password-1" and every row is dated in the past month.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_repo

from appbuilder.db import migrate
from appbuilder.db.session import make_engine
from appbuilder.security.passwords import hash_password
from appbuilder.settings import Settings

USERS = 10_000
HEAVY_USERS, HEAVY_USER_PROJECTS = 1_000, 50
PROJECTS = 100_000
HEAVY_PROJECTS, GENERATIONS_PER_HEAVY_PROJECT = 10_000, 100
PASSWORD = "bench-password-1"  # noqa: S105 - benchmark fixture
START = datetime(2026, 11, 1, tzinfo=UTC)


def users(password_hash: str) -> Iterator[tuple[object, ...]]:
    for i in range(1, USERS + 1):
        created = START + timedelta(seconds=i)
        yield (f"u{i}", f"user{i}@bench.example.com", password_hash, f"User {i}", created, created)


def owner_of(project: int) -> int:
    heavy = HEAVY_USERS * HEAVY_USER_PROJECTS
    if project <= heavy:
        return (project - 1) // HEAVY_USER_PROJECTS + 1
    return HEAVY_USERS + 1 + (project - heavy - 1) % (USERS - HEAVY_USERS)


def projects() -> Iterator[tuple[object, ...]]:
    templates = ("SAAS", "ECOMMERCE", "BLOG", "API", "CUSTOM")
    for i in range(1, PROJECTS + 1):
        created = START + timedelta(seconds=i * 7)
        yield (
            f"p{i}", f"Project {i}", templates[i % 5], "READY", '{"bench": true}', "{auth}",
            f"u{owner_of(i)}", created, created,
        )  # fmt: skip


def generations() -> Iterator[tuple[object, ...]]:
    agents = ("ORCHESTRATOR", "DATABASE", "BACKEND", "AUTH", "FRONTEND", "INTEGRATIONS", "DEVOPS")
    for p in range(1, HEAVY_PROJECTS + 1):
        owner = f"u{owner_of(p)}"
        for k in range(GENERATIONS_PER_HEAVY_PROJECT):
            created = START + timedelta(seconds=p * 7, milliseconds=k)
            yield (
                f"g{p}_{k}", f"p{p}", owner, agents[k % 7], f"step {k} of project {p}",
                "wrote 12 files", "COMPLETED", 100 + k, 40 + k, created, created,
            )  # fmt: skip


AGENTS = ("ORCHESTRATOR", "DATABASE", "BACKEND", "AUTH", "FRONTEND", "INTEGRATIONS", "DEVOPS")


def run_events(commit: str) -> list[tuple[str, dict[str, object]]]:
    """A completed run's events, as a worker writes them: queued, started, four per agent
    (its start, two log lines, its end), finished."""
    said: list[tuple[str, dict[str, object]]] = [("queued", {}), ("started", {"attempt": 1})]
    for agent in AGENTS[1:] + AGENTS[:1]:
        said += [
            ("step_started", {"agent": agent}),
            ("log", {"agent": agent, "line": f"{agent.lower()}: planning the files"}),
            ("log", {"agent": agent, "line": f"{agent.lower()}: wrote 12 files"}),
            ("step_finished", {"agent": agent, "status": "COMPLETED", "files": 12}),
        ]
    return [*said, ("finished", {"status": "COMPLETED", "commit_sha": commit})]


def runs(commit: str) -> Iterator[tuple[object, ...]]:
    for p in range(1, HEAVY_PROJECTS + 1):
        created = START + timedelta(seconds=p * 7, milliseconds=500)
        finished = created + timedelta(seconds=40)
        yield (
            f"r{p}", f"p{p}", f"u{owner_of(p)}", "COMPLETED", "DRAFT", '{"bench": true}',
            "0" * 64, len(run_events(commit)), commit, bench_repo.FILES, created, created,
            finished,
        )  # fmt: skip


def events(commit: str) -> Iterator[tuple[object, ...]]:
    said = [(kind, json.dumps(data)) for kind, data in run_events(commit)]
    for p in range(1, HEAVY_PROJECTS + 1):
        created = START + timedelta(seconds=p * 7, milliseconds=500)
        for seq, (kind, data) in enumerate(said, start=1):
            yield (f"r{p}", seq, kind, data, created + timedelta(seconds=seq))


def copy(
    cursor: psycopg.Cursor[object], table: str, columns: str, rows: Iterator[tuple[object, ...]]
) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copier:
        for row in rows:
            copier.write_row(row)
            count += 1
    return count


def main(url: str) -> None:
    engine = make_engine(Settings(database_url=url).database)
    migrate.drop_everything(engine)
    migrate.upgrade(engine)
    engine.dispose()
    password_hash = hash_password(PASSWORD)
    with tempfile.TemporaryDirectory() as folder:
        commit = bench_repo.make(Path(folder))
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    started = time.perf_counter()
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        n_users = copy(
            cursor,
            "users",
            "id, email, password_hash, name, created_at, updated_at",
            users(password_hash),
        )
        n_projects = copy(
            cursor,
            "projects",
            "id, name, template, status, config, features, user_id, created_at, updated_at",
            projects(),
        )
        n_generations = copy(
            cursor,
            "generations",
            "id, project_id, user_id, agent_type, prompt, "
            "response, status, tokens_used, duration_ms, created_at, "
            "completed_at",
            generations(),
        )
        n_runs = copy(
            cursor,
            "generation_runs",
            "id, project_id, user_id, status, previous_status, spec, spec_hash, event_seq, "
            "commit_sha, files_count, created_at, started_at, finished_at",
            runs(commit),
        )
        n_events = copy(cursor, "run_events", "run_id, seq, kind, data, created_at", events(commit))
        cursor.execute("ANALYZE")
    elapsed = time.perf_counter() - started
    print(f"loaded {n_users:,} users, {n_projects:,} projects, {n_generations:,} generations, "
          f"{n_runs:,} runs, {n_events:,} run events in {elapsed:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/uab_bench")
