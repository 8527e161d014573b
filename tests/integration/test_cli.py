"""`uab db ...` as a user runs it: the installed console script in a real subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from appbuilder import __version__
from appbuilder.db.migrate import head_revision

UAB = str(Path(sys.executable).with_name("uab"))
HEAD = head_revision()


def uab(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [UAB, *args],
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ok(*args: str, env: dict[str, str] | None = None) -> str:
    result = uab(*args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def rows(status_output: str, table: str) -> int:
    match = re.search(rf"│ {table}\s+│ (\d+)", status_output)
    assert match, status_output
    return int(match.group(1))


DEV = {"UAB_ENV": "development"}


def test_version() -> None:
    assert ok("--version").strip() == f"uab {__version__}"


def test_upgrade_seed_status_on_a_new_database(empty_database_url: URL) -> None:
    assert "current: empty" in ok("db", "current")
    status = uab("db", "status")
    assert status.returncode == 1
    assert "uab db upgrade" in status.stdout

    assert f"revision empty -> {HEAD}" in ok("db", "upgrade")
    assert f"current: {HEAD}" in ok("db", "current")

    first = ok("db", "seed", env=DEV)
    assert "Seeded 6 users" in first
    assert re.search(r"password \S{12,} \(shown once\)", first)
    assert re.search(r"uab_[A-Za-z0-9]{8}_\S{43}", first)
    second = ok("db", "seed", env=DEV)
    assert "Seeded 0 users, 0 projects, 0 generations" in second
    assert "password" not in second

    summary = ok("db", "status")
    assert rows(summary, "users") == 6
    assert rows(summary, "projects") == 8
    assert "Projects by template: SAAS 2, ECOMMERCE 1, BLOG 2, API 2, CUSTOM 1" in summary


def test_reset_is_refused_outside_development(database_url: URL) -> None:
    ok("db", "seed", "--password", "demo-password")
    refused = uab("db", "reset")
    assert refused.returncode == 1
    assert "Refusing to reset the database: UAB_ENV is 'test'" in refused.stderr
    assert "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert rows(ok("db", "status"), "users") == 6

    ok("db", "reset", "--force", "--no-seed")
    assert rows(ok("db", "status"), "users") == 0


def test_reset_in_development_reseeds(database_url: URL) -> None:
    output = ok("db", "reset", "--password", "demo-password", env=DEV)
    assert f"dropped and migrated to {HEAD}" in output
    assert rows(ok("db", "status"), "generations") > 0


def test_backup_and_restore_round_trip(database_url: URL, tmp_path: Path) -> None:
    ok("db", "seed", "--password", "demo-password")
    before = ok("db", "status")
    file = tmp_path / "nightly.backup"
    assert "Backed up" in ok("db", "backup", str(file))
    again = uab("db", "backup", str(file))
    assert again.returncode == 1
    assert "already exists" in again.stderr

    ok("db", "reset", "--force", "--no-seed")
    refused = uab("db", "restore", str(file))
    assert refused.returncode == 1
    assert "Refusing to restore" in refused.stderr
    ok("db", "restore", str(file), "--force")
    assert ok("db", "status") == before


def test_restore_of_a_missing_file_is_a_clear_error(database_url: URL, tmp_path: Path) -> None:
    result = uab("db", "restore", str(tmp_path / "missing"), env=DEV)
    assert result.returncode == 1
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_downgrade_to_base_and_back(database_url: URL) -> None:
    refused = uab("db", "downgrade", "base")
    assert refused.returncode == 1
    ok("db", "downgrade", "base", "--force")
    assert "current: empty" in ok("db", "current")
    ok("db", "upgrade")
    assert f"current: {HEAD}" in ok("db", "current")


def test_production_without_a_secret_key_refuses_to_start() -> None:
    result = uab("db", "current", env={"UAB_ENV": "production"})
    assert result.returncode == 1
    assert "UAB_SECRET_KEY is required in production" in result.stderr
    assert "Traceback" not in result.stderr


def test_secrets_never_appear_in_output(database_url: URL, tmp_path: Path) -> None:
    key = "super-secret-value-" + "q" * 30
    env = {"UAB_SECRET_KEY": key}
    if database_url.get_backend_name() == "postgresql":  # trust auth ignores the password
        env["UAB_DATABASE_URL"] = database_url.set(password="hunter2-pw").render_as_string(
            hide_password=False
        )
    outputs = [
        uab("db", "seed", "--password", "demo-password", env=env),
        uab("db", "status", env=env),
        uab("db", "backup", str(tmp_path / "b"), env=env),
        uab(
            "db",
            "status",
            env={**env, "UAB_DATABASE_URL": "postgresql://u:hunter2-pw@127.0.0.1:9/x"},
        ),
    ]
    assert [r.returncode for r in outputs] == [0, 0, 0, 1]
    assert "Database error: connection failed" in outputs[-1].stderr
    for result in outputs:
        text = result.stdout + result.stderr
        assert key not in text
        assert "hunter2-pw" not in text


@pytest.mark.parametrize("command", [["db", "bogus"], ["db", "seed", "--nope"]])
def test_usage_errors_exit_2(command: list[str]) -> None:
    result = uab(*command)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_seed_is_refused_in_production_without_force(database_url: URL) -> None:
    env = {"UAB_ENV": "production", "UAB_SECRET_KEY": "kZ3x9-Qw7Lp2Rt8Vb4Nm6Yc1Hd5Jf0Gs"}
    if database_url.get_backend_name() == "postgresql":
        env["UAB_DATABASE_URL"] = database_url.update_query_dict(
            {"sslmode": "disable"}
        ).render_as_string(hide_password=False)
    refused = uab("db", "seed", "--password", "demo-password", env=env)
    assert refused.returncode == 1
    assert "Refusing to seed demo accounts: UAB_ENV is 'production'" in refused.stderr
    assert "Seeded 6 users" in ok("db", "seed", "--password", "demo-password", "--force", env=env)
