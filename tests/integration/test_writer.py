"""Writing a tree: atomic replacement, refusing non-empty folders, never leaving the folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appbuilder.errors import RefusedError, UnsafePathError
from appbuilder.generator.writer import LOCAL_STATE, write_tree


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_writes_exactly_the_tree(tmp_path: Path) -> None:
    target = write_tree({"app/main.py": b"x = 1\n", "README.md": b"# hi\n"}, tmp_path / "out").path
    assert listing(target) == {"app/main.py": b"x = 1\n", "README.md": b"# hi\n"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left behind


def test_a_non_empty_folder_needs_force_and_is_then_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "out"
    write_tree({"old.py": b"old\n"}, target)
    with pytest.raises(RefusedError, match="--force"):
        write_tree({"new.py": b"new\n"}, target)
    assert listing(target) == {"old.py": b"old\n"}
    write_tree({"new.py": b"new\n"}, target, force=True)
    assert listing(target) == {"new.py": b"new\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_empty_folder_is_used_without_force(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    write_tree({"a.py": b"a\n"}, tmp_path / "out")
    assert listing(tmp_path / "out") == {"a.py": b"a\n"}


def test_a_failing_write_leaves_the_good_tree_in_place(tmp_path: Path) -> None:
    target = tmp_path / "out"
    write_tree({"good.py": b"good\n"}, target)
    with pytest.raises(UnsafePathError):
        write_tree({"a.py": b"a\n", "../escape.py": b"bad\n"}, target, force=True)
    assert listing(target) == {"good.py": b"good\n"}
    assert not (tmp_path / "escape.py").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_files_and_links_are_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("keep")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    for name in ("file", "link"):
        with pytest.raises(RefusedError, match="not a folder"):
            write_tree({"a.py": b"a\n"}, tmp_path / name, force=True)
    assert (tmp_path / "file").read_text() == "keep"


def test_regenerating_keeps_the_users_local_files(tmp_path: Path) -> None:
    target = tmp_path / "app"
    write_tree({"app/main.py": b"v1\n", ".env.example": b"X=1\n"}, target)
    (target / ".env").write_text("SECRET_KEY=mine")
    (target / "app.db").write_bytes(b"rows")
    (target / ".venv" / "bin").mkdir(parents=True)
    (target / "notes.txt").write_text("not kept: not local state")
    written = write_tree(
        {"app/main.py": b"v2\n", ".env.example": b"X=2\n"}, target, force=True, keep=LOCAL_STATE
    )
    assert written.kept == (".env", ".venv", "app.db")
    assert (target / ".env").read_text() == "SECRET_KEY=mine"
    assert (target / "app.db").read_bytes() == b"rows"
    assert (target / ".venv" / "bin").is_dir()
    assert not (target / "notes.txt").exists()
    assert (target / "app" / "main.py").read_bytes() == b"v2\n"


def test_the_current_folder_and_git_repositories_are_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    with pytest.raises(RefusedError, match="git repository"):
        write_tree({"a.py": b"a\n"}, repo, force=True)
    here = tmp_path / "here"
    (here / "work").mkdir(parents=True)
    monkeypatch.chdir(here / "work")
    with pytest.raises(RefusedError, match="current or home folder"):
        write_tree({"a.py": b"a\n"}, here, force=True)
    assert (here / "work").is_dir()


def test_a_failure_after_carrying_files_over_gives_them_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "app"
    write_tree({"app/main.py": b"v1\n"}, target)
    (target / ".env").write_text("SECRET_KEY=mine")

    real_replace = os.replace

    def replace(src: Path, dst: Path) -> None:
        # the one step a full disk or a busy mount can break: the new tree into place
        if Path(dst) == target and Path(src).name.startswith(".app."):
            raise OSError("device busy")
        real_replace(src, dst)

    monkeypatch.setattr("appbuilder.generator.writer.os.replace", replace)
    with pytest.raises(OSError, match="device busy"):
        write_tree({"app/main.py": b"v2\n"}, target, force=True, keep=LOCAL_STATE)
    assert (target / ".env").read_text() == "SECRET_KEY=mine"
    assert (target / "app" / "main.py").read_bytes() == b"v1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app"]
