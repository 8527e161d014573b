"""Server CPU per request of the hot reads, for two (or more) source trees side by side.

    python bench/hot_cpu.py DATABASE_URL before=/path/to/old/src after=src

Each tree is served by its own uvicorn process (asyncio + h11, as ``uab serve --workers N``
starts it: the app factory; ``UAB_ENV=production``, so the access log is written, as JSON
lines, to a discarded stderr) on the same database, seeded first: one PRO user with 25
projects, one of them with 60 generations and a run. A small asyncio client in this
process keeps ``BENCH_CONNECTIONS`` (4) keep-alive connections busy for ``BENCH_REQUESTS``
(2000) requests per route and server; the server's CPU time (user + system, all its
threads) is read from ``/proc/<pid>/stat`` before and after. Servers alternate route by
route, which goes first alternating too, for ``BENCH_ROUNDS`` (5) rounds, and the median
of the rounds is reported: the machine is shared, and alternating keeps its drift out of
the comparison. CPU time, not wall clock, is what is compared; the client's own CPU is
not counted.

The database is reset: give it one of its own (SQLite: a file path URL; PostgreSQL:
``postgresql+psycopg://…?sslmode=disable``, as production settings want sslmode said).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench.serving import SECRET, cpu_seconds, served  # noqa: E402
from sqlalchemy import select  # noqa: E402
from tests.factories import make_generation, make_project, make_user  # noqa: E402

from appbuilder.db import migrate  # noqa: E402
from appbuilder.db.models import GenerationRun, User  # noqa: E402
from appbuilder.db.session import make_engine, make_session_factory, transaction  # noqa: E402
from appbuilder.enums import ProjectStatus, ProjectTemplate, RunStatus, SubscriptionTier  # noqa: E402
from appbuilder.services import auth  # noqa: E402
from appbuilder.settings import Settings  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
ROUTES = {
    "me": "/api/me",
    "usage": "/api/usage",
    "list": "/api/projects?limit=20",
    "detail": "/api/projects/{id}?generations_limit=50",
}


@dataclass
class Server:
    name: str
    port: int
    pid: int


def seed(url: str) -> tuple[str, str]:
    """A fresh database with the rows the routes read; a session token and the big project."""
    settings = Settings(database_url=url, secret_key=SECRET)
    engine = make_engine(settings.database)
    migrate.drop_everything(engine)
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        user = make_user(session, name="Bench", subscription_tier=SubscriptionTier.PRO)
        projects = [
            make_project(
                session,
                user,
                template=ProjectTemplate.SAAS,
                description="A bench project",
                config={"bench": True},
                features=["auth", "payments"],
            )
            for _ in range(25)
        ]
        big = projects[0]
        for k in range(60):
            make_generation(session, big, prompt=f"step {k}", response="wrote 12 files")
        session.add(
            GenerationRun(
                project_id=big.id,
                user_id=user.id,
                status=RunStatus.COMPLETED,
                previous_status=ProjectStatus.DRAFT,
                spec={},
                spec_hash="0" * 64,
            )
        )
        owner = session.scalars(select(User).where(User.id == user.id)).one()
        token = auth.issue_session(session, owner, settings.auth).token
        big_id = big.id
    engine.dispose()
    return token, big_id


@contextmanager
def serve(name: str, tree: str, url: str) -> Iterator[Server]:
    env = {
        "PYTHONPATH": str(Path(tree).resolve()),
        "UAB_ENV": "production",
        "UAB_SECRET_KEY": SECRET,
        "UAB_DATABASE_URL": url,
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "appbuilder.web.app:create_app",
               "--no-access-log", "--no-server-header", "--log-level", "warning"]  # fmt: skip
    with served(command, env, ready="/healthz") as (port, pid):
        yield Server(name, port, pid)


async def _one_connection(port: int, request: bytes, count: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(count):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200 "):
                raise RuntimeError(head.decode("latin-1"))
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
    finally:
        writer.close()


def drive(server: Server, path: str, token: str, requests: int) -> float:
    """``requests`` GETs of ``path`` over CONNECTIONS connections: the server's CPU ms each."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()

    async def run() -> None:
        share = requests // CONNECTIONS
        await asyncio.gather(
            *(_one_connection(server.port, request, share) for _ in range(CONNECTIONS))
        )

    before = cpu_seconds(server.pid)
    asyncio.run(run())
    return (cpu_seconds(server.pid) - before) * 1000 / (requests // CONNECTIONS * CONNECTIONS)


def main(url: str, trees: dict[str, str]) -> None:
    token, big = seed(url)
    figures: dict[tuple[str, str], list[float]] = {}
    with ExitStack() as stack:
        servers = [stack.enter_context(serve(name, tree, url)) for name, tree in trees.items()]
        for server in servers:  # warm up: imports, first statements, pool connections
            for path in ROUTES.values():
                drive(server, path.format(id=big), token, 200)
        for index in range(ROUNDS):
            line = []
            for route, path in ROUTES.items():
                # which server goes first alternates too: the second of a pair ran slower
                for server in servers if index % 2 == 0 else servers[::-1]:
                    cpu = drive(server, path.format(id=big), token, REQUESTS)
                    figures.setdefault((route, server.name), []).append(cpu)
                    line.append(f"{route}/{server.name} {cpu:.3f}")
            print(f"round {index + 1}: " + ", ".join(line), flush=True)
    names = list(trees)
    print(f"\nserver CPU ms per request, median of {ROUNDS} rounds "
          f"({REQUESTS} requests, {CONNECTIONS} connections):")  # fmt: skip
    print(f"{'route':8}" + "".join(f"{name:>10}" for name in names) + "   change")
    for route in ROUTES:
        medians = [statistics.median(figures[route, name]) for name in names]
        change = f"{(medians[-1] / medians[0] - 1) * 100:+.0f} %"
        print(f"{route:8}" + "".join(f"{m:10.3f}" for m in medians) + f"   {change}")


if __name__ == "__main__":
    database, *pairs = sys.argv[1:]
    main(database, dict(pair.split("=", 1) for pair in pairs) or {"ours": str(ROOT / "src")})
