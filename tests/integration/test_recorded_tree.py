"""The file tree's git side (``project_files.recorded_tree``): the commit a run recorded,
listed on this machine, or first fetched from the project store when another worker made
it; a commit neither has, or a repository git cannot read, is said as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from appbuilder.db.types import utcnow
from appbuilder.errors import ExternalToolError, NotFoundError
from appbuilder.generator.history import ProjectHistory
from appbuilder.services.project_files import RecordedCommit, recorded_tree
from appbuilder.services.repository_store import push_to_store

PROJECT = "p1abc"
FILES = {"README.md": b"# Notes\n", "app/main.py": b"print('hi')\n"}


def _committed_elsewhere(tmp_path: Path) -> tuple[str, str]:
    """A commit made by another worker (its own data folder) and pushed to the store."""
    store = tmp_path / "store"
    store.mkdir()
    theirs = ProjectHistory(tmp_path / "worker-a" / "projects" / PROJECT)
    commit = theirs.commit(FILES, "Generated", when=utcnow(), marker="m", retry=False)
    push_to_store(theirs, str(store), PROJECT)
    return str(store), commit


def test_a_commit_made_elsewhere_is_fetched_from_the_store_then_listed(tmp_path: Path) -> None:
    store, commit = _committed_elsewhere(tmp_path)
    here = tmp_path / "worker-b" / "projects"
    found = RecordedCommit(PROJECT, "run1", commit)

    listed = recorded_tree(here, found, store=store)

    assert {entry.path: entry.size for entry in listed} == {"README.md": 8, "app/main.py": 12}
    assert ProjectHistory(here / PROJECT).head() == commit  # kept here for the next reads
    with pytest.raises(NotFoundError) as missing:
        recorded_tree(here, RecordedCommit(PROJECT, "run2", "f" * 40), store=store)
    assert missing.value.entity == "Commit"


def test_without_the_store_a_commit_made_elsewhere_is_not_found(tmp_path: Path) -> None:
    _, commit = _committed_elsewhere(tmp_path)
    with pytest.raises(NotFoundError) as missing:
        recorded_tree(tmp_path / "worker-b" / "projects", RecordedCommit(PROJECT, "r", commit))
    assert missing.value.entity == "Generated files of project"


def test_a_repository_git_cannot_read_is_a_tool_error_not_a_missing_commit(
    tmp_path: Path,
) -> None:
    projects = tmp_path / "projects"
    history = ProjectHistory(projects / PROJECT)
    commit = history.commit(FILES, "Generated", when=utcnow(), marker="m", retry=False)
    (projects / PROJECT / ".git" / "HEAD").write_text("garbage\n")
    with pytest.raises(ExternalToolError, match=r"git (ls-tree|rev-parse) failed"):
        recorded_tree(projects, RecordedCommit(PROJECT, "r", commit))
