"""How many processes `uab serve` starts when --workers is not given."""

from __future__ import annotations

import os

import pytest

from appbuilder.cli.serve import MAX_AUTO_WORKERS, _connections_per_process, default_workers
from appbuilder.settings import Settings, get_settings

CORES = len(os.sched_getaffinity(0))


def test_one_process_on_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UAB_DATABASE_URL", "sqlite:////tmp/uab-never-opened.db")
    assert default_workers(get_settings(), budget=None) == 1


def test_on_postgresql_one_per_core_as_far_as_connections_allow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UAB_DATABASE_URL", "postgresql://app@db.invalid/uab")
    # the defaults: 16 + 8 in the engine's pool, 16 in the hot reads' async pool, the listener
    settings = get_settings()
    assert default_workers(settings, budget=None) == min(CORES, MAX_AUTO_WORKERS)
    assert default_workers(settings, budget=10_000) == min(CORES, MAX_AUTO_WORKERS)
    assert default_workers(settings, budget=87) == min(CORES, MAX_AUTO_WORKERS, 2)
    assert default_workers(settings, budget=40) == 1  # not even one fits: still one


def test_smaller_pools_fit_more_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UAB_DATABASE_URL", "postgresql://app@db.invalid/uab")
    monkeypatch.setenv("UAB_DATABASE_POOL_SIZE", "10")
    monkeypatch.setenv("UAB_DATABASE_MAX_OVERFLOW", "10")
    assert default_workers(get_settings(), budget=87) == min(CORES, MAX_AUTO_WORKERS, 2)  # 37 each
    assert _connections_per_process(get_settings()) == 37
    monkeypatch.setenv("UAB_DATABASE_ASYNC_POOL_SIZE", "1")
    assert _connections_per_process(Settings()) == 22


def test_the_async_pool_counts_only_where_it_is_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UAB_DATABASE_URL", "postgresql://app@db.invalid/uab")
    monkeypatch.setenv("UAB_DATABASE_MAX_OVERFLOW", "20")
    assert default_workers(get_settings(), budget=87) == 1  # 53 a process
    monkeypatch.setenv("UAB_DATABASE_ASYNC_READS", "false")
    assert _connections_per_process(Settings()) == 37
    assert default_workers(Settings(), budget=87) == min(CORES, MAX_AUTO_WORKERS, 2)
    monkeypatch.setenv("UAB_DATABASE_URL", "sqlite:////tmp/uab-never-opened.db")
    monkeypatch.setenv("UAB_DATABASE_ASYNC_READS", "true")
    assert _connections_per_process(Settings()) == 37  # SQLite never opens the async pool
