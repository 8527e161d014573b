"""Writing a tree: atomic replacement, refusing non-empty folders, never leaving the folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from appbuilder.errors import RefusedError
from appbuilder.generator.files import UnsafePathError
from appbuilder.generator.writer import write_tree


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_writes_exactly_the_tree(tmp_path: Path) -> None:
    target = write_tree({"app/main.py": b"x = 1\n", "README.md": b"# hi\n"}, tmp_path / "out")
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
