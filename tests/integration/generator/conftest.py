"""Shared generation helpers: every template's app is generated once per test session."""

from __future__ import annotations

import fcntl
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from appbuilder.agents.orchestrator import GenerationResult, Orchestrator
from appbuilder.enums import ProjectTemplate
from appbuilder.generator.verify import clean_environment, scratch_database
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve
from tests.integration.conftest import PG_URL

T = TypeVar("T")

CUSTOM_SPEC: dict[str, Any] = {
    "name": "Field Notes",
    "features": ["auth", "file_uploads", "email", "markdown"],
    "integrations": {"s3": True},
    "entities": [
        {
            "name": "Site",
            "fields": [
                {"name": "name", "unique": True},
                {"name": "website", "type": "url", "required": False},
                {"name": "elevation", "type": "integer", "indexed": True},
            ],
            "relations": [{"name": "visits", "kind": "one_to_many", "target": "Visit"}],
        },
        {
            "name": "Visit",
            "fields": [
                {"name": "observed on", "type": "date"},
                {"name": "notes", "type": "text"},
                {"name": "weather", "type": "enum", "values": ["sun", "rain", "snow"]},
                {"name": "readings", "type": "json", "required": False},
                {"name": "cost", "type": "decimal", "required": False},
                {"name": "confirmed", "type": "boolean", "default": False},
                {"name": "logged at", "type": "datetime"},
                {"name": "contact", "type": "email", "required": False},
            ],
            "relations": [
                {"name": "previous", "target": "Visit"},
                {"name": "observers", "kind": "many_to_many", "target": "Observer"},
            ],
        },
        {"name": "Observer", "fields": [{"name": "full name", "max_length": 80}]},
    ],
}


def generate(template: ProjectTemplate, *, verify: bool = True) -> GenerationResult:
    data = CUSTOM_SPEC if template is ProjectTemplate.CUSTOM else None
    spec = build_spec(data, template=template)
    return Orchestrator().generate(spec, resolve(spec), verify=verify)


class OncePerSession:
    """Values computed once per test session, across xdist workers.

    A session or module fixture is computed once per worker: a template's app verified in
    a module fixture was verified again on the other worker whenever work stealing split
    that module's tests between the two (its whole gate, up to a minute and a half in CI).
    The first worker to ask computes the value; the other waits for it and reads it back.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(exist_ok=True)

    def get(self, key: str, compute: Callable[[], T]) -> T:
        stored = self.folder / f"{key}.pickle"
        with (self.folder / f"{key}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when closed
            if stored.exists():
                value: T = pickle.loads(stored.read_bytes())  # noqa: S301 - written above
                return value
            value = compute()
            written = stored.with_suffix(".tmp")
            written.write_bytes(pickle.dumps(value))
            written.replace(stored)
            return value


@pytest.fixture(scope="session")
def once(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> OncePerSession:
    root = tmp_path_factory.getbasetemp()
    # xdist: each worker's base is a folder of the session's, which they share
    return OncePerSession((root if worker_id == "master" else root.parent) / "once")


def generated_once(
    once: OncePerSession, template: ProjectTemplate, *, verify: bool = True
) -> GenerationResult:
    """``generate(template)``, once per session: its gate runs on one worker only."""
    key = f"{template.value}-{'verified' if verify else 'unverified'}"
    return once.get(key, lambda: generate(template, verify=verify))


@pytest.fixture(scope="session")
def unverified_blog(once: OncePerSession) -> GenerationResult:
    return generated_once(once, ProjectTemplate.BLOG, verify=False)


def generated_suite_passes(folder: Path, *args: str) -> list[str]:
    """The generated app in ``folder`` runs its pytest with ``args`` on SQLite and, when the
    platform's tests have PostgreSQL, on a scratch database there; each run must pass. What
    each printed, for the caller's own checks."""
    env = clean_environment(folder / "home")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]

    def passing(extra: dict[str, str]) -> str:
        run = subprocess.run(
            command, cwd=folder, env=env | extra, capture_output=True, text=True, check=False
        )
        assert run.returncode == 0, run.stdout[-6000:]
        return run.stdout

    outputs = [passing({})]
    if PG_URL is not None:
        with scratch_database(PG_URL) as url:
            outputs.append(passing({"TEST_DATABASE_URL": url}))
    return outputs
