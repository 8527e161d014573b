"""The files pages' pure parts: the tree built from git's flat list, the changed-files
summary of a diff, and highlighting that escapes what it is given."""

from __future__ import annotations

from appbuilder.generator.history import TreeEntry
from appbuilder.web.ui.highlight import code_html, diff_html
from appbuilder.web.ui.pages_files import Changed, build_tree, changed_files


def test_tree_lists_folders_first_then_files_by_name() -> None:
    paths = ["app/main.py", "README.md", "app/routers/notes.py", "app/__init__.py", "Makefile"]
    tree = build_tree([TreeEntry(p, len(p), "0" * 40) for p in paths])
    assert [(n.name, n.size is None) for n in tree] == [
        ("app", True),
        ("Makefile", False),
        ("README.md", False),
    ]
    app = tree[0]
    assert [n.path for n in app.children] == ["app/routers", "app/__init__.py", "app/main.py"]
    assert app.children[0].children[0].path == "app/routers/notes.py"


def test_changed_files_counts_lines_per_file() -> None:
    diff = (
        "diff --git a/app/models.py b/app/models.py\n--- a/app/models.py\n+++ b/app/models.py\n"
        "@@ -1,2 +1,3 @@\n title\n+pinned\n+due\n-old\n"
        "diff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n"
        "@@ -1 +1 @@\n-a\n+b\n"
    )
    assert changed_files(diff) == [Changed("app/models.py", 2, 1), Changed("README.md", 1, 1)]
    assert changed_files("") == []


def test_highlighting_escapes_hostile_text_and_keeps_every_line() -> None:
    hostile = '<script>alert("x")</script>\n<img src=x onerror=alert(1)>\n\nlast'
    for html in (code_html("page.html", hostile), code_html("notes.unknown-ext", hostile)):
        assert "<script" not in html
        assert "<img" not in html
        assert "&lt;" in html
        assert html.count('<span class="line">') == 4
        assert "style=" not in html
    diff = diff_html("+<b>added</b>\n-removed\n")
    assert '<span class="gi">+&lt;b&gt;added&lt;/b&gt;</span>' in diff
    assert '<span class="gd">-removed</span>' in diff
