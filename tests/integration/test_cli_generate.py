"""`uab generate`, `uab spec` and `uab templates` as a user runs them: the console script."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.integration.test_cli import UAB, ok, uab


def test_generate_builds_verifies_and_writes_the_app(tmp_path: Path) -> None:
    target = tmp_path / "my-api"
    out = ok("generate", "--template", "api", "--name", "My API", "-o", str(target))
    assert "passed: " in out
    assert "tests passed, 0 failed" in out
    assert f"cd {target} && make run" in out
    assert (target / "app" / "main.py").is_file()
    assert (target / "README.md").read_text().startswith("# My API")


def test_a_non_empty_target_is_refused_without_force(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    refused = uab("generate", "-t", "api", "-o", str(target), "--no-verify")
    assert refused.returncode == 1
    assert "--force" in refused.stderr
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    forced = ok("generate", "-t", "api", "-o", str(target), "--no-verify", "--force")
    assert "skipped (--no-verify)" in forced
    assert not (target / "keep.txt").exists()
    assert (target / "Makefile").is_file()


def test_generate_from_a_spec_file_extending_a_template(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: Reading list\nentities:\n  - name: Book\n    fields:\n      - name: title\n"
        "      - {name: pages, type: integer, required: false}\n"
    )
    target = tmp_path / "books"
    ok("generate", "--spec", str(spec), "-o", str(target), "--no-verify")
    assert (target / "app" / "routers" / "book.py").is_file()


def test_a_bad_spec_exits_non_zero_with_every_problem(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: Bad\nentities:\n  - name: 9 lives\n    fields: [{name: id}]\n")
    result = uab("generate", "--spec", str(spec), "-o", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "entities.9 lives: " in result.stderr
    assert "entities.9 lives.fields.id" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_generate_needs_a_template_or_a_spec() -> None:
    result = uab("generate")
    assert result.returncode == 2
    assert "--template" in result.stderr


def test_spec_validate_reports_valid_and_invalid_files(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            {
                "name": "Good",
                "entities": [{"name": "Note", "fields": [{"name": "body", "type": "text"}]}],
            }
        )
    )
    assert "valid" in ok("spec", "validate", str(good))
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    result = uab("spec", "validate", str(broken))
    assert result.returncode == 1
    assert "could not be parsed" in result.stderr


def test_spec_schema_is_json_schema_of_the_spec() -> None:
    schema = json.loads(ok("spec", "schema"))
    assert schema["title"] == "AppSpec"
    assert {"entities", "features", "integrations", "spec_version"} <= set(schema["properties"])


def test_templates_lists_all_five_with_entities() -> None:
    out = ok("templates", env={"COLUMNS": "400"})
    for name in ("SAAS", "ECOMMERCE", "BLOG", "API", "CUSTOM"):
        assert name in out
    assert "Post" in out
    assert "Order item" in out


def test_syntax_errors_say_where(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: App\nentities: [unclosed\n")
    result = uab("spec", "validate", str(broken))
    assert result.returncode == 1
    assert "(line 3, column 1)" in result.stderr


def test_markup_in_user_text_is_printed_as_it_is(tmp_path: Path) -> None:
    spec = tmp_path / "markup.yaml"
    spec.write_text('name: "My [/bold] App"\nentities: [{name: Note, fields: [{name: title}]}]\n')
    assert "My [/bold] App" in ok("spec", "validate", str(spec))


def run_in(folder: Path, command: str) -> subprocess.CompletedProcess[str]:
    """A shell command run from ``folder``, as a user types it there."""
    return subprocess.run(
        ["bash", "-c", command],
        cwd=folder,
        env={**os.environ, "COLUMNS": "200", "PATH": f"{Path(UAB).parent}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_generating_into_the_current_empty_folder_fills_it_in_place(tmp_path: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    inode = here.stat().st_ino
    # the shell's folder must still exist after the command: `pwd -P` and `ls` work in it
    result = run_in(here, "uab generate -t api -o . --no-verify && ls app/main.py && pwd -P")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(str(here.resolve()))
    assert here.stat().st_ino == inode  # the same folder, not a new one renamed over it
    assert (here / "Makefile").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name != "here"]  # no scratch left behind


def test_the_current_folder_with_files_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = run_in(tmp_path, "uab generate -t api -o . --no-verify --force")
    assert result.returncode == 1
    assert "current" in result.stderr
    assert "empty or new folder" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_deleted_current_folder_is_named_in_the_error(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    result = run_in(gone, f"rmdir {gone} && uab generate -t api --no-verify")
    assert result.returncode == 1
    assert "The current folder no longer exists" in result.stderr


def test_an_os_error_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = uab("generate", "-t", "api", "-o", str(blocker / "app"), "--no-verify")
    assert result.returncode == 1
    assert str(blocker) in result.stderr


def test_templates_show_labels_and_the_names_a_spec_uses() -> None:
    out = ok("templates", env={"COLUMNS": "400"})  # one line per template
    assert "Order (CustomerOrder)" in out
    assert "Cart item (CartItem)" in out


def test_a_misspelt_key_gets_did_you_mean(tmp_path: Path) -> None:
    spec = tmp_path / "typo.yaml"
    spec.write_text(
        "name: Typo\nentities:\n  - name: Post\n    feilds:\n      - {name: title, type: strnig}\n"
    )
    result = uab("spec", "validate", str(spec))
    assert result.returncode == 1
    assert "did you mean 'fields'?" in result.stderr
    assert "entities.Post.fields.title.type" in result.stderr  # inside the misspelt block


def test_a_refused_name_suggests_one(tmp_path: Path) -> None:
    spec = tmp_path / "service.yaml"
    spec.write_text("name: Shop\nentities:\n  - name: Service\n    fields: [{name: id}]\n")
    result = uab("spec", "validate", str(spec))
    assert result.returncode == 1
    assert "entities.Service.fields.id" in result.stderr
    assert "a key every row or list request already has" in result.stderr
    assert "'id_value'" in result.stderr
