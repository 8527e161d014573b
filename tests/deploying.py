"""Helpers for deployment tests: a project with a completed run standing for a verified one,
and a client that asks a deployed app with a fresh connection per request."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.models import Deployment, GenerationRun
from appbuilder.enums import RunStatus
from appbuilder.jobs.runner import EmbeddedDispatcher
from appbuilder.services import runs
from appbuilder.services.deployments import processes
from appbuilder.services.runs.execution import execute_run
from appbuilder.services.runs.journal import RunContext


def completed_run(
    sessions: sessionmaker[Session],
    projects_dir: Path,
    user_id: str,
    project_id: str,
    spec: dict[str, Any] | None = None,
) -> str:
    """Build the project for real (a commit in its history), then mark the run verified.

    The gate itself (the app's whole suite, minutes) is tested in tests/integration/generator;
    here the run stands for one that passed it, so the deploy tests stay fast."""
    with sessions.begin() as session:
        user = runs.owner_of_project(session, project_id)
        assert user.id == user_id
        run = runs.start_run(
            session, EmbeddedDispatcher(), user, project_id, spec=spec, verify=False
        )
        run_id = run.id
    status = execute_run(RunContext(sessions=sessions, projects_dir=projects_dir), run_id)
    assert status is RunStatus.COMPLETED
    with sessions.begin() as session:
        session.execute(update(GenerationRun).where(GenerationRun.id == run_id).values(verify=True))
    return run_id


@dataclass
class LoadLoop:
    """GETs ``url`` in a loop, each on a new connection (as independent clients would),
    counting answers other than 200 and requests that failed outright."""

    url: str
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> LoadLoop:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                answer = httpx.get(self.url, timeout=10, headers={"Connection": "close"})
            except httpx.HTTPError as error:
                self.failures.append(f"{type(error).__name__}: {error}")
                continue
            if answer.status_code == 200:
                self.ok += 1
            else:
                self.failures.append(f"HTTP {answer.status_code}")


def sign_up_and_in(base: str, email: str) -> dict[str, str]:
    """An account of the deployed app itself (``base``: its URL), signed in: its headers."""
    credentials = {"email": email, "password": "a long enough password 42"}
    httpx.post(f"{base}api/auth/signup", json=credentials, timeout=10).raise_for_status()
    answer = httpx.post(f"{base}api/auth/login", json=credentials, timeout=10)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def stop_deployed_apps(sessions: sessionmaker[Session]) -> None:
    """Every app process a test's deployments started (they outlive their platform)."""
    with sessions() as session:
        for row in session.scalars(select(Deployment).where(Deployment.pid.is_not(None))):
            processes.stop(row.pid or 0, row.process_started, grace=5)
