"""Shared fixtures: an isolated environment for every test.

Every test gets its own data directory and a clean settings cache, so no test reads the
developer's real database, secret key or ``.env``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from appbuilder.settings import get_settings

PG_URL_ENV = "UAB_TEST_DATABASE_URL"


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") and not os.environ.get(PG_URL_ENV):
        raise pytest.UsageError(
            f"CI is set but {PG_URL_ENV} is not: CI must run every database test on PostgreSQL."
        )


#: modules whose tests take 30 s to 5 min each (they generate apps and run the apps' own
#: suites, or run workers): started first, so two xdist workers share them instead of one
#: worker starting a five-minute test when the other has nothing left (a 6-minute tail).
SLOW_FIRST = (
    "tests/integration/generator/test_user_names_never_collide.py",
    "tests/integration/generator/test_generated_app_runs.py",
    "tests/integration/generator/test_templates.py",
    "tests/integration/generator/test_random_specs.py",
    "tests/integration/llm/test_rules.py",
    "tests/integration/llm/test_coder.py",
    "tests/integration/generator/test_probe_findings.py",
    "tests/integration/jobs/test_workers.py",
    "tests/integration/llm/test_sample_data.py",
    "tests/integration/jobs/test_pipeline.py",
    "tests/integration/test_cli_generate.py",
    "tests/integration/generator/test_hostile_text.py",
    "tests/integration/generator/test_random_spec_shapes.py",
    "tests/browser/test_deploy_ui.py",
    "tests/browser/test_journey.py",
    "tests/integration/test_cli.py",
    "tests/integration/test_cli_deploy.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slowest modules first (in the order above), the rest as collected. Deterministic,
    so every xdist worker collects the same order."""
    rank = {module: number for number, module in enumerate(SLOW_FIRST)}

    def key(item: pytest.Item) -> int:
        return rank.get(item.nodeid.split("::", 1)[0], len(SLOW_FIRST))

    items.sort(key=key)  # stable: within a module, and among the rest, collection order


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say on which databases the database tests passed, so CI's log shows both ran."""
    counts: Counter[str] = Counter()
    for report in terminalreporter.stats.get("passed", []):
        counts.update(value for key, value in report.user_properties if key == "database")
    summary = ", ".join(f"{count} on {name}" for name, count in sorted(counts.items()))
    terminalreporter.write_line(f"database tests passed: {summary or 'none'}")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith("UAB_") and name != PG_URL_ENV:
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("UAB_DATA_DIR", str(data_dir))
    monkeypatch.setenv("UAB_ENV", "test")
    monkeypatch.chdir(tmp_path)  # no stray .env from the working directory
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()
