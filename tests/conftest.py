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

from appbuilder.generator import verify
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


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slowest modules first (in the order above), the rest as collected. Deterministic,
    so every xdist worker collects the same order."""
    rank = {module: number for number, module in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(_module(item), len(SLOW_FIRST)))  # stable
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))  # set on xdist workers
    if workers > 1:
        items[:] = _slow_first_on_every_worker(items, workers)


def _slow_first_on_every_worker(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """xdist's work stealing first hands each worker one contiguous part of this order,
    cut where ``len(pending) // workers_left`` says, and lets an idle worker steal the
    second half of another's queue. With every slow module at the head of the first part,
    the first worker ran them one after another while the second ran quick tests, then
    stole quick ones from the first's tail: the slow modules were shared only at the end,
    a few at a time. Here each part starts with its share of the slow modules (dealt in
    turn, a module's tests kept together: its module fixtures run on one worker), and the
    quick tests follow, so what is stolen at the end is quick."""
    slow: list[list[pytest.Item]] = [[] for _ in range(workers)]
    modules = list(dict.fromkeys(_module(item) for item in items if _module(item) in SLOW_FIRST))
    for item in items:
        if _module(item) in SLOW_FIRST:
            slow[modules.index(_module(item)) % workers].append(item)
    quick = [item for item in items if _module(item) not in SLOW_FIRST]
    dealt: list[pytest.Item] = []
    left = len(items)
    for part in range(workers):
        size = left // (workers - part)  # as xdist's WorkStealingScheduling cuts
        fill = size - len(slow[part])
        if fill < 0:  # too few quick tests to pad the part: keep the plain order
            return items
        dealt += slow[part] + quick[:fill]
        quick = quick[fill:]
        left -= size
    return dealt


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say on which databases the database tests passed, so CI's log shows both ran."""
    counts: Counter[str] = Counter()
    for report in terminalreporter.stats.get("passed", []):
        counts.update(value for key, value in report.user_properties if key == "database")
    summary = ", ".join(f"{count} on {name}" for name, count in sorted(counts.items()))
    terminalreporter.write_line(f"database tests passed: {summary or 'none'}")


@pytest.fixture(scope="session", autouse=True)
def mypy_cache_of_this_worker() -> Iterator[None]:
    """Each xdist worker type-checks generated apps with a mypy cache of its own.

    The gate lets one type check at a time use the shared cache (one lock per cache,
    machine-wide): two workers verifying apps side by side waited for each other's mypy
    run (10-20 s each). A cache per worker (kept in the user's cache folder, so warm from
    the last run) takes the wait away; ``uab`` subprocesses keep the shared one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", ...; unset without xdist
    if worker is None:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(verify, "MYPY_CACHE", verify.MYPY_CACHE.with_name(f"mypy-{worker}"))
        yield


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
