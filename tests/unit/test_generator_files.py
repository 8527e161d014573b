"""Path rules, manifests and tree hashes: what keeps every write inside its folder."""

from __future__ import annotations

import pytest

from appbuilder.errors import UnsafePathError
from appbuilder.generator.files import check_path, manifest, tree_hash


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("", "path-length"),
        ("a/" * 121 + "b", "path-length"),
        ("/etc/passwd", "relative-path"),
        ("C:/windows", "relative-path"),
        ("app\\main.py", "relative-path"),
        ("../outside.py", "inside-folder"),
        ("app/../../outside.py", "inside-folder"),
        ("app/./main.py", "inside-folder"),
        ("app//main.py", "inside-folder"),
        ("app/main.py/", "inside-folder"),
        ("app/ma in.py", "path-characters"),
        ("app/\x00.py", "path-characters"),
        ("app/$(rm).py", "path-characters"),
        (".git/hooks/post-checkout", "no-git"),
        ("app/.git/config", "no-git"),
    ],
)
def test_unsafe_paths_are_refused_with_their_rule(path: str, rule: str) -> None:
    with pytest.raises(UnsafePathError) as raised:
        check_path(path)
    assert raised.value.rule == rule


@pytest.mark.parametrize("path", ["README.md", ".github/workflows/ci.yml", "app/pages/post.py"])
def test_ordinary_paths_pass(path: str) -> None:
    assert check_path(path) == path


def test_the_tree_hash_changes_with_any_byte_or_name_and_ignores_order() -> None:
    tree = {"b.py": b"print(1)\n", "a.py": b"x = 1\n"}
    assert tree_hash(tree) == tree_hash(dict(reversed(tree.items())))
    assert tree_hash(tree) != tree_hash({**tree, "a.py": b"x = 2\n"})
    assert tree_hash(tree) != tree_hash({"c.py": tree["a.py"], "b.py": tree["b.py"]})


def test_a_manifest_lists_sizes_and_hashes_in_path_order() -> None:
    entries = manifest({"b": b"12", "a": b""})
    assert [e["path"] for e in entries] == ["a", "b"]
    assert entries[1]["size"] == 2
    assert entries[0]["sha256"].startswith("e3b0c442")
