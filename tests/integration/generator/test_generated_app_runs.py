"""The generated app, written to disk, migrates and serves like its README says; and its
own test suite passes on PostgreSQL too."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from appbuilder.agents.orchestrator import GenerationResult
from appbuilder.enums import ProjectTemplate
from appbuilder.generator.verify import clean_environment, verify_tree
from appbuilder.generator.writer import write_tree
from tests.integration.conftest import PG_URL, Backend
from tests.integration.generator.conftest import OncePerSession, generated_once
from tests.servers import free_port, wait_until_up


@pytest.fixture
def served_blog(unverified_blog: GenerationResult, tmp_path: Path) -> Iterator[str]:
    """What `make run` does, with this interpreter: migrate, then serve with uvicorn."""
    folder = write_tree(unverified_blog.files, tmp_path / "blog").path
    env = clean_environment(tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'blog.db'}"})
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as server:
        try:
            wait_until_up(url, server)
            yield url
        finally:
            server.terminate()


def test_the_generated_app_serves_health_pages_and_api(served_blog: str) -> None:
    assert httpx.get(f"{served_blog}/healthz").json() == {"status": "ok"}
    home = httpx.get(f"{served_blog}/")
    assert home.status_code == 200
    assert "Posts" in home.text
    assert httpx.get(f"{served_blog}/static/style.css").status_code == 200
    assert httpx.get(f"{served_blog}/api/posts").json()["total"] == 0
    token_response = httpx.post(
        f"{served_blog}/api/auth/signup",
        json={"email": "ada@example.com", "password": "analytical engine"},
    )
    assert token_response.status_code == 201


@pytest.mark.parametrize("template", list(ProjectTemplate), ids=lambda t: t.value)
def test_each_generated_test_suite_passes_on_postgresql(
    template: ProjectTemplate,
    postgresql_backend: Backend,
    once: OncePerSession,
    request: pytest.FixtureRequest,
) -> None:
    """The verification gate's PostgreSQL step: migrations and suite in a scratch database."""
    request.node.user_properties.append(("database", "postgresql"))
    assert PG_URL is not None  # postgresql_backend needs it
    files = generated_once(once, template, verify=False).files
    result = verify_tree(files, checks=("postgresql",), database_url=PG_URL)
    assert [check.name for check in result.checks] == ["postgresql"]
    assert result.passed, result.failing_output
    assert result.tests_passed > 30


def test_the_app_refuses_the_default_secret_in_production(
    unverified_blog: GenerationResult, tmp_path: Path
) -> None:
    folder = write_tree(unverified_blog.files, tmp_path / "blog").path
    env = clean_environment(tmp_path, {"ENVIRONMENT": "production"})
    done = subprocess.run(
        [sys.executable, "-c", "import app.main"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "SECRET_KEY" in done.stderr
