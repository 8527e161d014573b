"""The ``local`` target: the generated app as a supervised process on this machine.

Each app runs with its own interpreter environment, installed from its ``requirements.lock``
and shared by every app with the same lock (content-addressed under the platform's cache,
so a redeploy with unchanged pins installs nothing and pip's cache serves the rest), its
own SQLite database and secret key in the project's ``data/`` folder (kept across
redeploys: a new version migrates the same database), on a loopback port of its own.

Own port rather than a reverse proxy under ``uab serve``'s ``/apps/<slug>/``: a generated
app's links, redirects and cookies are written for the root of its host; serving it under
a prefix would need every one of them rewritten, and the app would stop whenever the
platform restarts. On its own port the app is exactly what its owner downloads and runs.

Zero-downtime redeploys: the public port is bound with SO_REUSEPORT (see ``_launch.py``),
so the new version listens beside the old one; it is health-checked on a private port of
its own, and only then is the old one stopped (SIGTERM: it finishes open requests).
Except when the new version's migration removes columns or tables: the old version reads
them, so every request it served after the migration would fail. It is stopped first and
the log says so; the app is unreachable until the new version is healthy (seconds), which
beats answering errors meanwhile.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import platformdirs

from appbuilder.errors import DeployFailed
from appbuilder.services.deployments import processes
from appbuilder.services.deployments.logs import row_tail
from appbuilder.services.deployments.removals import removals
from appbuilder.services.deployments.targets.base import Outcome, Release

LAUNCHER = Path(__file__).resolve().parent.parent / "_launch.py"
#: the interpreter environments of deployed apps, one per distinct lock file
ENV_CACHE = platformdirs.user_cache_path("ultimate-app-builder") / "deploy-envs"
INSTALL_TIMEOUT = 900.0
MIGRATE_TIMEOUT = 300.0
HEALTH_TIMEOUT = 60.0


class LocalTarget:
    name = "local"

    def __init__(self, env_cache: Path = ENV_CACHE) -> None:
        self.env_cache = env_cache

    def deploy(self, release: Release, log: TextIO) -> Outcome:
        folder = release.extract(release.home / "releases" / release.deployment_id)
        env = app_environment(release.home / "data")
        python = self.environment_for(folder / "requirements.lock", log)
        revision = f"deploy_{release.deployment_id[:12]}"
        migrate(
            python,
            folder,
            env,
            log,
            data=release.home / "data",
            revision=revision,
            before_removing=release.retire_live,
            going_back=release.going_back,
        )
        port = release.port or processes.free_port()
        health_port = processes.free_port()
        _step(log, f"Starting the app on port {port} (health checks on {health_port})")
        log.flush()
        pid = _launch(python, folder, env, release.log_path, port=port, health_port=health_port)
        started = processes.start_time(pid)
        _await_health(pid, started, health_port, release.log_path)
        url = f"http://127.0.0.1:{port}/"
        return Outcome(url, f"Running at {url}", pid, started, port, health_port)

    def environment_for(self, lock: Path, log: TextIO) -> Path:
        """The interpreter of the environment for this lock file, installed once."""
        if not lock.is_file():
            raise DeployFailed("The app has no requirements.lock to install its packages from.")
        key = hashlib.sha256(lock.read_bytes()).hexdigest()[:24]
        home = self.env_cache / key
        python = home / "bin" / "python"
        if (home / ".ready").exists():
            _step(log, f"Using the installed environment {key}")
            return python
        self.env_cache.mkdir(parents=True, exist_ok=True)
        with (self.env_cache / f"{key}.lock").open("w") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)  # one installer per lock; others wait, then reuse
            if not (home / ".ready").exists():
                _step(log, f"Installing the app's packages from requirements.lock ({key})")
                shutil.rmtree(home, ignore_errors=True)  # a build cut short by a crash
                _run([sys.executable, "-m", "venv", str(home)], lock.parent, None, log, 120)
                install = [str(python), "-m", "pip", "install", "--quiet", "-r", str(lock)]
                _run(install, lock.parent, _pip_environment(), log, INSTALL_TIMEOUT)
                (home / ".ready").touch()
        return python


def migrate(
    python: Path,
    folder: Path,
    env: dict[str, str],
    log: TextIO,
    *,
    data: Path,
    revision: str,
    before_removing: Callable[[str], None] | None = None,
    going_back: bool = False,
) -> None:
    """Bring the app's database to this version's models, keeping its rows.

    A generated app ships one initial migration holding its whole schema, rewritten when its
    spec changes, so a database made by an earlier version is already at that revision and
    ``upgrade`` alone would leave it behind. The difference is migrated here: the
    migrations this database needed before (kept in ``data/migrations``) are added to the
    release, and whatever its models still add is written by alembic's autogenerate as one
    more migration, kept there for the next version.

    Zero downtime holds for additive changes: the old version serves until the new one is
    healthy. A migration that removes columns or tables (a field or entity dropped, or
    renamed: a rename reads as a drop and an add) would pull them from under the old
    version's queries, so ``before_removing`` is told first (with what goes), and stops it.
    A version older than one deployed before (``going_back``: started again) would drop what
    the newer one added, with its data: refused, the database untouched.
    """
    carried, versions = data / "migrations", folder / "migrations" / "versions"
    for kept in sorted(carried.glob("*.py")):
        shutil.copy2(kept, versions / kept.name)
    alembic = [str(python), "-m", "alembic"]
    _step(log, "Applying the app's migrations to its database")
    _run([*alembic, "upgrade", "head"], folder, env, log, MIGRATE_TIMEOUT)
    if _run([*alembic, "check"], folder, env, log, MIGRATE_TIMEOUT, check=False) == 0:
        return
    _step(log, f"The database is behind this version's models: migration {revision}")
    message = "Schema changes of a redeploy"
    autogenerate = [*alembic, "revision", "--autogenerate", "-m", message, "--rev-id", revision]
    _run(autogenerate, folder, env, log, MIGRATE_TIMEOUT)
    written = sorted(versions.glob(f"{revision}_*.py"))
    removed = [r for path in written for r in removals(path.read_text(encoding="utf-8"))]
    if removed and going_back:  # refused before the migration is kept or applied
        raise DeployFailed(
            f"This version is older than the app's database: starting it would remove "
            f"{', '.join(removed)} (and what they hold), added by a newer version. Nothing "
            "was changed; deploy the latest version instead."
        )
    carried.mkdir(parents=True, exist_ok=True)
    for path in written:
        shutil.copy2(path, carried / path.name)
    if removed and before_removing is not None:
        gone = ", ".join(removed)
        _step(log, f"This version removes {gone}, which the running version reads:")
        _step(log, "stopping it first; the app is unreachable until this version is up")
        before_removing(gone)
    _run([*alembic, "upgrade", "head"], folder, env, log, MIGRATE_TIMEOUT)


def app_environment(data: Path) -> dict[str, str]:
    """What the app reads: its database and secret in ``data`` (kept across redeploys);
    none of the platform's own settings or secrets."""
    data.mkdir(parents=True, exist_ok=True)
    secret_file = data / "secret_key"
    if not secret_file.exists():
        secret_file.touch(mode=0o600)
        secret_file.write_text(secrets.token_urlsafe(48))
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(data),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "ENVIRONMENT": "production",
        "DATABASE_URL": f"sqlite:///{data / 'app.db'}",
        "SECRET_KEY": secret_file.read_text().strip(),
    }


def _pip_environment() -> dict[str, str]:
    """pip's own configuration (indexes, wheel folders, cache) without the platform's."""
    return {k: v for k, v in os.environ.items() if not k.startswith("UAB_")}


def _step(log: TextIO, line: str) -> None:
    log.write(f"[deploy] {line}\n")
    log.flush()


def _run(
    command: list[str],
    cwd: Path,
    env: dict[str, str] | None,
    log: TextIO,
    timeout: float,
    *,
    check: bool = True,
) -> int:
    log.flush()
    try:
        done = subprocess.run(  # noqa: S603 - fixed programs, our arguments
            command,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise DeployFailed(
            f"{Path(command[0]).name} {command[2]} took over {timeout:.0f} s."
        ) from error
    if check and done.returncode != 0:
        raise DeployFailed(f"`{' '.join(command[1:4])}` failed (exit status {done.returncode}).")
    return done.returncode


def _launch(
    python: Path, folder: Path, env: dict[str, str], log_path: Path, *, port: int, health_port: int
) -> int:
    """Start the app detached from this process (a session of its own, no parent-death
    signal, no Popen object waiting on it): it outlives a platform restart, which
    re-adopts it by pid and start time."""
    output = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        argv = [str(python), str(LAUNCHER), "--app", str(folder), "--port", str(port)]
        return os.posix_spawn(
            str(python),
            [*argv, "--health-port", str(health_port)],
            env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, null, 0),
                (os.POSIX_SPAWN_DUP2, output, 1),
                (os.POSIX_SPAWN_DUP2, output, 2),
            ],
            setsid=True,
        )
    finally:
        os.close(output)
        os.close(null)


def _await_health(pid: int, started: int | None, port: int, log_path: Path) -> None:
    """Wait for /healthz to answer 200 on the private port; a process that exits first, or
    never answers, fails the deployment with the end of its output."""
    deadline = time.monotonic() + HEALTH_TIMEOUT
    url = f"http://127.0.0.1:{port}/healthz"
    while time.monotonic() < deadline:
        if not processes.is_running(pid, started):
            raise DeployFailed("The app exited before it was healthy.", row_tail(log_path))
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    processes.stop(pid, started, grace=5)
    raise DeployFailed(
        f"The app did not answer /healthz within {HEALTH_TIMEOUT:.0f} s.", row_tail(log_path)
    )
