"""`uab serve` as a user runs it: a real process, migrations first in development."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from tests.servers import free_port, wait_until, wait_until_up

UAB = str(Path(sys.executable).with_name("uab"))


@contextmanager
def serving(
    *args: str, env: dict[str, str], pids: list[int] | None = None
) -> Iterator[tuple[str, list[str]]]:
    """The server's URL while it runs, and (after it stopped) its output; ``pids`` gets the
    id of the `uab serve` process."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    output: list[str] = []
    with subprocess.Popen(
        [UAB, "serve", "--port", str(port), *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        try:
            wait_until_up(url, process, timeout=180)  # --workers 2: two processes import all
            if pids is not None:
                pids.append(process.pid)
            yield url, output
        finally:
            process.send_signal(signal.SIGTERM)
            output.append(process.communicate(timeout=30)[0])


def serving_processes(pid: int) -> list[int]:
    """With --workers N, uvicorn's N children (multiprocessing's spawned processes, not its
    resource tracker); else ``pid`` itself."""
    workers = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(int(child))
        except FileNotFoundError:  # gone meanwhile
            pass
    return workers or [pid]


def loaded(pid: int, *paths: str) -> bool:
    """Whether process ``pid`` has files whose paths contain each of ``paths`` mapped: the
    extension modules it imported (``/proc/<pid>/maps``)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except FileNotFoundError:
        return False
    return all(path in maps for path in paths)


def test_serve_runs_on_uvloop_and_httptools_where_installed(database_url: URL) -> None:
    """They are dependencies (where they build): uvicorn's "auto" takes them, and the
    first line says so. Each serving process has their extension modules loaded."""
    pytest.importorskip("uvloop")
    pytest.importorskip("httptools")
    pids: list[int] = []
    with serving(env={"UAB_ENV": "development"}, pids=pids) as (url, output):
        assert httpx.get(f"{url}/healthz").status_code == 200
        wait_until(  # a second worker may still be starting
            lambda: all(
                loaded(pid, "uvloop/loop.", "httptools/parser/parser.")
                for pid in serving_processes(pids[0])
            ),
            timeout=120,
        )
    assert "uvloop + httptools." in output[0]


def test_the_first_line_names_what_uvicorn_runs_on() -> None:
    """Where uvloop or httptools are missing uvicorn's "auto" falls back to asyncio and h11;
    the line names what it resolves to, as the explicit choices show."""
    import uvicorn  # noqa: PLC0415 - what `uab serve` runs

    from appbuilder.cli.serve import loop_and_parser  # noqa: PLC0415

    assert loop_and_parser(uvicorn.Config("m:app", loop="asyncio", http="h11")) == (
        "asyncio",
        "h11",
    )
    assert loop_and_parser(uvicorn.Config("m:app", loop="uvloop", http="httptools")) == (
        "uvloop",
        "httptools",
    )


def test_serve_migrates_in_development_and_answers(empty_database_url: URL) -> None:
    env = {"UAB_ENV": "development"}
    with serving(env=env) as (url, _output):
        assert httpx.get(f"{url}/readyz").status_code == 200
        registered = httpx.post(
            f"{url}/api/auth/register",
            json={"email": "serve@example.com", "password": "correct-horse-42"},
        )
        assert registered.status_code == 201
        assert registered.headers["x-request-id"]
        assert "server" not in registered.headers


def test_serve_in_production_with_workers_does_not_migrate(empty_database_url: URL) -> None:
    env = {"UAB_ENV": "production", "UAB_SECRET_KEY": "kZ3x9-Qw7Lp2Rt8Vb4Nm6Yc1Hd5Jf0Gs"}
    if empty_database_url.get_backend_name() == "postgresql":  # production insists on sslmode
        env["UAB_DATABASE_URL"] = empty_database_url.update_query_dict(
            {"sslmode": "disable"}
        ).render_as_string(hide_password=False)
    with serving("--workers", "2", env=env) as (url, output):
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503  # nobody ran `uab db upgrade`
        assert "uab db upgrade" in ready.json()["error"]["message"]
    assert '"level": "INFO"' in output[0]  # JSON log lines in production
    assert '"path": "/readyz", "status": 503' in output[0]


def test_serve_refuses_bad_production_settings() -> None:
    result = subprocess.run(
        [UAB, "serve", "--port", str(free_port())],
        env={**os.environ, "UAB_ENV": "production"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "UAB_SECRET_KEY is required in production" in result.stderr


def test_forwarded_addresses_are_not_trusted_by_default(empty_database_url: URL) -> None:
    """Otherwise a client could spread failed log-ins over made-up addresses."""
    with serving(env={"UAB_ENV": "development", "UAB_AUTH_MAX_FAILURES_PER_CLIENT": "2"}) as (
        url,
        _output,
    ):
        statuses = [
            httpx.post(
                f"{url}/api/auth/login",
                json={"email": f"x{i}@example.com", "password": "wrong-pass-1"},
                headers={"X-Forwarded-For": f"10.0.0.{i}"},
            ).status_code
            for i in range(3)
        ]
    assert statuses == [401, 401, 429]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_stopping_the_server_ends_live_progress_streams(database_url: URL, workers: str) -> None:
    """SIGTERM while a client follows a run that won't end (no worker on PostgreSQL, a
    released run on SQLite): the stream ends, the process exits, nothing is logged as an
    error. The serving() helper fails the test if the process hasn't exited in 30 s. With
    two processes too: uvicorn would cut the stream mid-answer after its grace time."""
    env = {"UAB_ENV": "development", "UAB_RUN_SHUTDOWN_GRACE_SECONDS": "0"}
    with serving("--workers", workers, env=env) as (url, output):
        account = {"email": "stream@example.com", "password": "correct-horse-42"}
        httpx.post(f"{url}/api/auth/register", json=account)
        token = httpx.post(f"{url}/api/auth/login", json=account).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        project = httpx.post(
            f"{url}/api/projects", json={"name": "Blog", "template": "BLOG"}, headers=headers
        ).json()
        run = httpx.post(
            f"{url}/api/projects/{project['id']}/generate", json={}, headers=headers
        ).json()
        received: list[str] = []

        def listen() -> None:
            with httpx.stream(
                "GET", f"{url}/api/runs/{run['id']}/events", headers=headers, timeout=60
            ) as stream:
                received.extend(stream.iter_lines())

        listener = threading.Thread(target=listen)
        listener.start()
        deadline = time.monotonic() + 30
        while not any(line.startswith("event: queued") for line in received):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    listener.join(30)
    assert not listener.is_alive()  # the server ended the stream
    assert "ERROR" not in output[0]
    assert "Exception in ASGI application" not in output[0]
