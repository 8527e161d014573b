"""The one interface every deploy target implements, and what it is handed.

A target gets a ``Release`` (one verified commit of a project, a folder of its own and a
log to write to) and returns an ``Outcome``, or raises ``DeployFailed``. It touches no
database row: the service records what it returns, so every target moves a Deployment
and its project through the same states.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from appbuilder.generator.history import ProjectHistory


@dataclass(frozen=True)
class Release:
    deployment_id: str
    project_id: str
    #: the app's slug (its folder in archives, its name in manifests)
    slug: str
    commit: str
    history: ProjectHistory
    #: this project's deployments folder: releases, data, logs, artifacts
    home: Path
    #: the public port to keep (a redeploy serves where the previous version did)
    port: int | None = None
    #: stops the versions serving now, for a target that must not run beside them: its
    #: migration removes what they read (given in words); the service records it
    retire_live: Callable[[str], None] | None = None
    #: an older run than one this project deployed before: its database is ahead of it
    going_back: bool = False

    @property
    def log_path(self) -> Path:
        return self.home / "logs" / f"{self.deployment_id}.log"

    def extract(self, into: Path) -> Path:
        """The commit's files under ``into``/<slug>/, read from git objects."""
        data = b"".join(self.history.archive(self.commit, prefix=self.slug))
        into.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(into)
        return into / self.slug


@dataclass(frozen=True)
class Outcome:
    #: where users reach it: the running app, or the artifact to download
    url: str | None
    #: one line for the user (also the last line of the deployment's log)
    message: str
    #: a running process the platform supervises (local target); else an artifact
    pid: int | None = None
    process_started: int | None = None
    port: int | None = None
    health_port: int | None = None

    @property
    def live(self) -> bool:
        return self.pid is not None


class Target(Protocol):
    #: the name users pick and tier limits list
    name: str

    def deploy(self, release: Release, log: TextIO) -> Outcome: ...
