"""Web UI benchmark: server time and page weight of the two heaviest pages.

    python bench/ui_bench.py                      # SQLite in a temporary folder
    python bench/ui_bench.py postgresql://postgres@127.0.0.1:5432/uab_ui_bench

Loads one user with 100 projects (each with a finished run) and one project with 50 runs
(six agent steps each), starts ``uab serve`` on loopback, signs in through the log-in
form, then requests ``/dashboard`` and ``/projects/{id}`` (the 50-run project) one after
another: time to first byte (the server's time, on loopback) and the full response, p50
and p90; and the page weight: the HTML with the stylesheet and script it loads (no images).
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, wait_until_up  # noqa: E402

from appbuilder.db import migrate  # noqa: E402
from appbuilder.db.models import Generation, GenerationRun, Project, User  # noqa: E402
from appbuilder.db.session import make_session_factory  # noqa: E402
from appbuilder.db.types import utcnow  # noqa: E402
from appbuilder.enums import (  # noqa: E402
    AgentType,
    GenerationStatus,
    ProjectStatus,
    ProjectTemplate,
    RunStatus,
    SubscriptionTier,
)
from appbuilder.security.passwords import hash_password  # noqa: E402

UAB = str(Path(sys.executable).with_name("uab"))
EMAIL = "bench@example.com"
PASSWORD = "bench-password-1"  # noqa: S105 - benchmark only
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
STEPS = [
    AgentType.DATABASE,
    AgentType.BACKEND,
    AgentType.AUTH,
    AgentType.FRONTEND,
    AgentType.DEVOPS,
    AgentType.ORCHESTRATOR,
]


def _run(project: Project, user: User, at: int, status: RunStatus) -> GenerationRun:
    started = utcnow() - timedelta(hours=at)
    return GenerationRun(
        project_id=project.id,
        user_id=user.id,
        status=status,
        previous_status=ProjectStatus.DRAFT,
        spec={"name": project.name},
        spec_hash="0" * 64,
        verify=True,
        created_at=started,
        started_at=started,
        finished_at=started + timedelta(seconds=40),
        files_count=69,
        error_message="The app's own tests failed: 2 of 40."
        if status is RunStatus.FAILED
        else None,
    )


def load(url: str) -> str:
    """The user, 100 projects with a run each, and a project with 50 runs; its id."""
    engine = create_engine(url)
    migrate.upgrade(engine)
    with make_session_factory(engine).begin() as session:
        user = User(
            email=EMAIL,
            password_hash=hash_password(PASSWORD),
            name="Bench",
            subscription_tier=SubscriptionTier.ENTERPRISE,
        )
        session.add(user)
        session.flush()
        projects = [
            Project(
                user_id=user.id,
                name=f"Project {n}",
                description=f"Benchmark project number {n}, with a description of some length.",
                template=ProjectTemplate.BLOG,
                status=ProjectStatus.READY,
                config={},
            )
            for n in range(100)
        ]
        session.add_all(projects)
        session.flush()
        session.add_all(_run(p, user, n, RunStatus.COMPLETED) for n, p in enumerate(projects))
        busy = projects[0]
        runs = [
            _run(busy, user, 200 + n, RunStatus.FAILED if n % 5 == 0 else RunStatus.COMPLETED)
            for n in range(50)
        ]
        session.add_all(runs)
        session.flush()
        for run in runs:
            session.add_all(
                Generation(
                    project_id=busy.id,
                    user_id=user.id,
                    run_id=run.id,
                    agent_type=agent,
                    prompt="step",
                    response="",
                    status=GenerationStatus.COMPLETED,
                    tokens_used=0,
                    duration_ms=400 + n,
                    created_at=run.created_at + timedelta(seconds=n),
                )
                for n, agent in enumerate(STEPS)
            )
        busy_id = busy.id
    engine.dispose()
    return busy_id


def sign_in(client: httpx.Client) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert token, "no CSRF token on /login"
    answer = client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert answer.status_code == 303, answer.text


def measure(client: httpx.Client, path: str) -> tuple[list[float], list[float], int]:
    first_byte, full = [], []
    size = 0
    for _ in range(REQUESTS):
        began = time.perf_counter()
        with client.stream("GET", path) as response:
            first_byte.append((time.perf_counter() - began) * 1000)
            body = response.read()
        full.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, path
        size = len(body)
    return first_byte, full, size


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="uab-ui-bench-"))
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{folder / 'bench.db'}"
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    busy = load(url)
    port = free_port()
    env = {**os.environ, "UAB_ENV": "test", "UAB_DATABASE_URL": url, "UAB_DATA_DIR": str(folder)}
    process = subprocess.Popen(
        [UAB, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        with httpx.Client(base_url=base, timeout=30) as client:
            sign_in(client)
            assets = sum(
                len(client.get(f"/static/{name}").content) for name in ("app.css", "app.js")
            )
            print(f"{REQUESTS} sequential requests each; assets (css+js) {assets / 1024:.1f} KB")
            print("| page | TTFB p50 ms | TTFB p90 ms | full p50 ms | HTML KB | page weight KB |")
            print("|---|---:|---:|---:|---:|---:|")
            for label, path in (
                ("dashboard, 100 projects", "/dashboard"),
                ("project page, 50 runs", f"/projects/{busy}"),
            ):
                measure(client, path)  # warm up
                ttfb, full, size = measure(client, path)
                print(
                    f"| {label} | {statistics.median(ttfb):.1f} | {pct(ttfb, 90):.1f} | "
                    f"{statistics.median(full):.1f} | {size / 1024:.1f} | "
                    f"{(size + assets) / 1024:.1f} |"
                )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
