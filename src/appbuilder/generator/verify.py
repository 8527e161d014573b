"""The verification gate: a generated app counts only when its own checks pass.

Checks run in a scratch copy of the tree (so the delivered tree stays byte-identical),
with this platform's interpreter (which carries every dependency of the ``fastapi``
stack), an environment holding none of the platform's secrets, a deadline, and no network
where the OS lets an unprivileged process drop it (``unshare -rn`` on Linux).

Given a PostgreSQL server (``database_url``, from ``UAB_VERIFY_DATABASE_URL``), the app's
migrations and suite run there too, in a scratch database created for the check and
dropped after it: SQLite forgives what PostgreSQL refuses (identifiers over 63 bytes, NUL
in text). That step needs the server, so it runs with the network the platform has.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import platformdirs
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from appbuilder.generator.files import FileTree
from appbuilder.generator.security_lint import CUSTOM_FOLDERS, RUFF_SECURITY_ARGS, is_custom
from appbuilder.generator.writer import write_files

_COMPILE = (
    "import pathlib, sys\n"
    "bad = 0\n"
    "for path in sorted(pathlib.Path('.').rglob('*.py')):\n"
    "    try:\n"
    "        compile(path.read_bytes(), str(path), 'exec')\n"
    "    except SyntaxError as error:\n"
    "        bad += 1\n"
    "        print(f'{path}:{error.lineno}: {error.msg}')\n"
    "sys.exit(1 if bad else 0)\n"
)
CHECKS = ("compile", "lint", "security", "format", "types", "tests", "postgresql")
_COUNTS = re.compile(r"(\d+) (passed|failed|errors?|skipped)")
OUTPUT_LIMIT = 20_000


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    duration_ms: int
    output: str


@dataclass(frozen=True)
class Verification:
    passed: bool
    checks: tuple[CheckResult, ...]
    tests_passed: int
    tests_failed: int
    duration_ms: int
    network_isolated: bool

    @property
    def failing_output(self) -> str:
        return "\n".join(f"[{c.name}]\n{c.output}" for c in self.checks if not c.passed)

    def summary(self) -> str:
        state = "passed" if self.passed else "FAILED"
        failed = [c.name for c in self.checks if not c.passed]
        tail = f"; failing: {', '.join(failed)}" if failed else ""
        if not self.network_isolated:
            tail += "; network not isolated"
        return (
            f"{state}: {self.tests_passed} tests passed, "
            f"{self.tests_failed} failed in {self.duration_ms / 1000:.1f} s{tail}"
        )


@cache
def network_isolation_prefix() -> tuple[str, ...]:
    """A command prefix that runs a program with loopback only, or () where the OS can't.

    ``unshare -rn`` gives an unprivileged process its own network namespace; its loopback
    starts down, so it is brought up for the generated tests' local fakes.
    """
    unshare, ip = (
        shutil.which("unshare"),
        shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin"),
    )
    if unshare is None or ip is None:
        return ()
    prefix = (unshare, "-rn", "sh", "-c", f'{ip} link set lo up && exec "$@"', "isolated")
    try:
        done = subprocess.run(  # noqa: S603
            [*prefix, "true"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return prefix if done.returncode == 0 else ()


def clean_environment(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Only what a Python test run needs: no UAB_*, cloud or database credentials."""
    python_dir = str(Path(sys.executable).parent)
    env = {
        "PATH": os.pathsep.join([python_dir, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "NO_COLOR": "1",
    }
    env.update(extra or {})
    return env


#: Shared by every verification: the libraries all apps import (FastAPI, SQLAlchemy,
#: pydantic) are analysed once instead of per app (about 20 s each). mypy trusts a cached
#: module whose path, mtime (in seconds) and size match without hashing it, so each app's
#: own modules are named by absolute paths inside its unique scratch folder (see
#: ``_commands``): every app's ``tests.factories`` is then checked against its own hash,
#: never taken from another app written in the same second. With the file store (not
#: SQLite) mypy replaces cache files atomically, so concurrent runs can share it.
MYPY_CACHE = platformdirs.user_cache_path("ultimate-app-builder") / "mypy"

#: Generous for a test suite, small enough that a runaway one can't take the machine down.
MEMORY_LIMIT = 4 * 2**30
FILE_SIZE_LIMIT = 2**30


_PR_SET_PDEATHSIG = 1


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name, use_errno=True) if name and sys.platform == "linux" else None


_libc()  # resolved in the parent: the child between fork and exec must not search


def _limit_resources() -> None:
    """Runs in the child before exec: cap its address space and file sizes, no core dumps,
    and die with the worker: a worker killed mid-verification leaves no orphan behind."""
    libc = _libc()
    if libc is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _run(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    deadline: float,
    cancel: threading.Event | None,
) -> tuple[int | None, str]:
    """Run in its own process group; kill the group on deadline or cancel. None = killed."""
    with tempfile.TemporaryFile() as sink:
        process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            command,
            cwd=cwd,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_limit_resources,  # noqa: PLW1509 - only sets rlimits, before exec
        )
        code: int | None = None
        while code is None:
            try:
                code = process.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline or (cancel is not None and cancel.is_set()):
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    break
        sink.seek(0)
        output = sink.read().decode("utf-8", "replace")
    return code, output[-OUTPUT_LIMIT:]


def verify_tree(
    files: FileTree,
    *,
    timeout: float = 600,
    cancel: threading.Event | None = None,
    extra_env: dict[str, str] | None = None,
    checks: tuple[str, ...] = CHECKS,
    isolate_network: bool = True,
    database_url: str | None = None,
) -> Verification:
    """Byte-compile, lint, format-check, type-check and test a tree; stop at the first failure.

    ``checks`` picks a subset (property tests lint hundreds of apps without running them);
    ``isolate_network=False`` lets a caller's tests reach a database server it provides;
    ``database_url`` (a PostgreSQL server) adds the ``postgresql`` check.
    """
    started = time.monotonic()
    deadline = started + timeout
    prefix = list(network_isolation_prefix()) if isolate_network else []
    steps = [name for name in CHECKS if name in checks and _applies(name, files, database_url)]
    results: list[CheckResult] = []
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="uab-verify-") as scratch:
        root = Path(scratch) / "app"
        home = Path(scratch) / "home"
        root.mkdir()
        home.mkdir()
        write_files(files, root)
        env = clean_environment(home, extra_env)
        commands = _commands(root)
        for name in steps:
            step_started = time.monotonic()
            if name == "postgresql" and database_url:
                with scratch_database(database_url) as url:
                    step_env = env | {"TEST_DATABASE_URL": url}
                    code, output = _run(commands["tests"], root, step_env, deadline, cancel)
            else:
                shared = _shared_cache(deadline, cancel) if name == "types" else nullcontext(True)
                with shared as go:
                    code, output = (
                        _run(prefix + commands[name], root, env, deadline, cancel)
                        if go
                        else (None, "")
                    )
            if code is None:
                reason = "cancelled" if cancel is not None and cancel.is_set() else "timed out"
                output = f"{output}\n[{name} {reason} after {time.monotonic() - started:.0f} s]"
            if name == "tests":
                passed, failed = _test_counts(output)
            elif name == "postgresql":
                on_postgresql = _test_counts(output)
                passed, failed = passed or on_postgresql[0], failed + on_postgresql[1]
            results.append(CheckResult(name, code == 0, _ms(step_started), output.strip()))
            if code != 0:
                break
    ok = len(results) == len(steps) and all(c.passed for c in results)
    return Verification(ok, tuple(results), passed, failed, _ms(started), bool(prefix))


def _applies(check: str, files: FileTree, database_url: str | None) -> bool:
    """``postgresql`` needs a server; ``security`` (ruff's S rules) code a model wrote."""
    if check == "postgresql":
        return database_url is not None
    if check == "security":
        return any(is_custom(path) for path in files)
    return True


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server ``server_url`` names, dropped afterwards."""
    server = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"uab_verify_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def _shared_cache(deadline: float, cancel: threading.Event | None) -> Iterator[bool]:
    """The mypy cache, for one type check at a time across every process on this machine.

    mypy's cache is safe for one writer: two checks writing their apps' modules at once
    can pair one app's metadata with another's data (their mtimes are compared to the
    second), and a later check then trusts the mix. Waiting for the lock counts towards
    the verification's deadline: past it, or once the run is cancelled, it yields False and
    the check is not started (it timed out, or was cancelled)."""
    MYPY_CACHE.mkdir(parents=True, exist_ok=True)
    with (MYPY_CACHE / ".lock").open("a") as handle:
        locked = False
        while not locked and time.monotonic() < deadline and not (cancel and cancel.is_set()):
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
            except BlockingIOError:
                time.sleep(0.05)
        try:
            yield locked
        finally:
            if locked:
                fcntl.flock(handle, fcntl.LOCK_UN)


#: the app's packages mypy checks (the app's [tool.mypy] ``files``), as absolute paths
TYPED_PACKAGES = ("app", "tests", "migrations")


def _commands(root: Path) -> dict[str, list[str]]:
    """Each check as a command run in the app's folder with this platform's interpreter."""
    python = sys.executable
    typed = [str(root / name) for name in TYPED_PACKAGES if (root / name).is_dir()]
    return {
        "compile": [python, "-c", _COMPILE],
        "lint": [python, "-m", "ruff", "check", "--no-cache", "."],
        "security": [
            *(python, "-m", "ruff", "check", *RUFF_SECURITY_ARGS),
            *(folder for folder in CUSTOM_FOLDERS if (root / folder).is_dir()),
        ],
        "format": [python, "-m", "ruff", "format", "--check", "--no-cache", "."],
        # The app's own [tool.mypy] (strict, pydantic plugin) says how to check
        "types": [
            python,
            "-m",
            "mypy",
            "--no-sqlite-cache",
            "--cache-dir",
            str(MYPY_CACHE),
            *typed,
        ],
        "tests": [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
    }


def _test_counts(output: str) -> tuple[int, int]:
    counts: dict[str, int] = {}
    lines = output.strip().splitlines()
    for number, kind in _COUNTS.findall(lines[-1] if lines else ""):
        counts[kind.rstrip("s") if kind.startswith("error") else kind] = int(number)
    return counts.get("passed", 0), counts.get("failed", 0) + counts.get("error", 0)


def _ms(since: float) -> int:
    return round((time.monotonic() - since) * 1000)
