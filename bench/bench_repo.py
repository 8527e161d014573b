"""The git repository whose files the API bench lists (``GET /api/projects/p1/files``):
120 files in nested folders, committed with a fixed author, date and message, so its commit
id is the same wherever it is made. ``load_data.py`` records that id on the bench's runs;
``api_bench.py`` makes the repository for p1 in the servers' projects folder.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

FILES = 120
FOLDERS = ("app/models", "app/routes", "app/templates", "static/css", "tests")
_FIXED = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Ultimate App Builder",
    "GIT_AUTHOR_EMAIL": "bench@appbuilder.invalid",
    "GIT_AUTHOR_DATE": "1764547200 +0000",
    "GIT_COMMITTER_NAME": "Ultimate App Builder",
    "GIT_COMMITTER_EMAIL": "bench@appbuilder.invalid",
    "GIT_COMMITTER_DATE": "1764547200 +0000",
}


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],  # noqa: S607 - git from PATH
        cwd=folder,
        env={**os.environ, **_FIXED},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def make(folder: Path) -> str:
    """The repository in ``folder`` (made anew), and its one commit's id."""
    folder.mkdir(parents=True, exist_ok=True)
    _git(folder, "init", "--quiet", "--initial-branch=main")
    for i in range(FILES):
        path = folder / FOLDERS[i % len(FOLDERS)] / f"file_{i:03}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'"""File {i} of the bench app."""\n' + "value = 1\n" * (i * 7 % 200))
    _git(folder, "add", "--all")
    _git(folder, "commit", "--quiet", "--no-gpg-sign", "--message", "The bench app")
    return _git(folder, "rev-parse", "HEAD")
