"""Bulk-load a PostgreSQL database for the API benchmark: 10,000 users, 100,000 projects
and 1,000,000 generations, with COPY (minutes with the ORM, seconds with COPY).

    python bench/load_data.py postgresql://postgres@127.0.0.1:5432/uab_bench

The database is reset and migrated first. Users u1..u1000 own 50 projects each, the rest
about 5.6; projects p1..p10000 have 100 generations each, so the benchmark has users with
more than a page of projects and projects with more than 50 generations. Every user's
password is "bench-password-1" and every row is dated in the past month.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy.engine import make_url

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
        cursor.execute("ANALYZE")
    elapsed = time.perf_counter() - started
    print(f"loaded {n_users:,} users, {n_projects:,} projects, {n_generations:,} generations "
          f"in {elapsed:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/uab_bench")
