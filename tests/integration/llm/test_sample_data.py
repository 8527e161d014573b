"""Sample rows from a model (opt-in ``sample_data``): data, never code, judged by the
spec's value rules before they join the app (bad rows sent back, bounded), loaded by the
app's ``make seed`` and proven by its own suite on the gate; no model, no sample data."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from appbuilder.agents.lineup import agents_for
from appbuilder.agents.orchestrator import MemoryJournal, Orchestrator
from appbuilder.enums import AgentType, GenerationStatus
from appbuilder.errors import GenerationError, ModelNotConfiguredError
from appbuilder.generator.verify import clean_environment
from appbuilder.generator.writer import write_tree
from appbuilder.services import builds
from appbuilder.spec.loading import build_spec
from appbuilder.spec.sample_rows import row_problems
from appbuilder.spec.validation import resolve
from tests.fake_llm import FakeLLM, tool
from tests.integration.conftest import PG_URL
from tests.integration.llm.conftest import settings_for

#: With accounts: authors hold people's data (an email), so they and their books are their
#: owner's alone; an author's book count is computed by the app.
SPEC: dict[str, Any] = {
    "name": "Library",
    "description": "a small lending library",
    "sample_data": True,
    "features": ["auth", "pagination"],
    "entities": [
        {
            "name": "Author",
            "fields": [
                {"name": "name", "max_length": 80},
                {"name": "email", "type": "email", "required": False},
                {"name": "book count", "type": "integer", "computed": "count(books)"},
            ],
        },
        {
            "name": "Book",
            "fields": [
                {"name": "title", "max_length": 120},
                {"name": "pages", "type": "integer", "min": 1, "max": 5000},
                {"name": "price", "type": "decimal", "min": 0},
                {"name": "published", "type": "date", "required": False},
                {"name": "state", "type": "enum", "values": ["on shelf", "lent"]},
            ],
            "relations": [{"name": "author", "target": "Author", "required": True}],
        },
    ],
}
AUTHORS = [
    {"name": "Ada Quill", "email": "ada@example.com"},
    {"name": "Bo Lark"},
]
BOOKS = [
    {"title": "Paper Rivers", "pages": 312, "price": 18.5, "published": "2019-04-02",
     "state": "on shelf", "author": 1},
    {"title": "Salt & Iron", "pages": 120, "price": "9.99", "state": "lent", "author": 2},
    {"title": "Quiet Maps", "pages": 88, "price": 0, "state": "on shelf", "author": 1},
]  # fmt: skip


def answer(authors: list[dict[str, Any]], books: list[dict[str, Any]]) -> dict[str, Any]:
    return {"entities": [{"entity": "Author", "rows": authors}, {"entity": "Book", "rows": books}]}


def test_sample_rows_are_checked_shipped_and_loaded_by_the_apps_own_suite(
    llm: FakeLLM, tmp_path: Path
) -> None:
    bad = [*BOOKS, {"title": "x" * 121, "pages": 0, "price": "1.234", "state": "gone", "author": 3}]
    llm.answer(tool(answer(AUTHORS, bad), input_tokens=900), tool(answer(AUTHORS, BOOKS)))
    spec = build_spec(SPEC)
    result = builds.build(
        spec,
        resolve(spec),
        verify=True,
        timeout=300,
        llm=settings_for(llm),
        # the app's suite on PostgreSQL too, when the tests have a server (as in CI)
        verify_database_url=PG_URL,
    )
    assert result.succeeded, result.verification and result.verification.failing_output
    assert result.verification is not None
    checks = {check.name for check in result.verification.checks}
    assert ("postgresql" in checks) is (PG_URL is not None)
    assert json.loads(result.files["app/sample_data.json"]) == {"Author": AUTHORS, "Book": BOOKS}
    assert "app/seed.py" in result.files
    assert "tests/test_seed.py" in result.files
    assert "seed: migrate" in result.files["Makefile"].decode()
    feedback = str(llm.requests[1]["messages"])
    for problem in (
        "Book row 4: title: at most 120 characters",
        "Book row 4: pages: at least 1",
        "Book row 4: price: at most two decimal places",
        "Book row 4: state: must be one of on shelf, lent",
        "Book row 4: author: must be the position of a sample Author, 1 to 2",
    ):
        assert problem in feedback
    sent = str(llm.requests[0]["messages"])
    assert "a small lending library" in sent
    assert "pages: integer, required, min 1, max 5000" in sent
    assert "links: author -> Author (required)" in sent
    database = next(r for r in result.records if r.agent is AgentType.DATABASE)
    assert database.tokens_used > 900
    # `make seed` itself, in the written app: through its services, as a demo admin
    folder = write_tree(result.files, tmp_path / "library").path
    env = clean_environment(tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'library.db'}"})
    for command in (["alembic", "upgrade", "head"], ["app.seed"]):
        done = subprocess.run(
            [sys.executable, "-m", *command],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "Sample rows added. They belong to demo@example.com, an admin: sign in with the password"
    )
    assert "\n2 sample Author rows added.\n3 sample Book rows added.\n" in done.stdout
    with sqlite3.connect(tmp_path / "library.db") as db:
        (demo,) = db.execute("SELECT id FROM users WHERE email = 'demo@example.com'").fetchone()
        authors = db.execute(
            "SELECT name, book_count, owner_id FROM authors ORDER BY id"
        ).fetchall()
        books = db.execute("SELECT DISTINCT owner_id FROM books").fetchall()
    assert authors == [("Ada Quill", 2, demo), ("Bo Lark", 1, demo)]  # computed by the app
    assert books == [(demo,)]


def test_an_app_without_accounts_loads_its_sample_rows_with_its_own_test(
    llm: FakeLLM, tmp_path: Path
) -> None:
    """The seed's other shape (no owner, no demo admin), proven by its own generated test."""
    llm.answer(tool(answer(AUTHORS, BOOKS)))
    spec = build_spec({**SPEC, "features": ["pagination"]})
    result = builds.build(spec, resolve(spec), verify=False, timeout=300, llm=settings_for(llm))
    assert "demo" not in result.files["app/seed.py"].decode()
    folder = write_tree(result.files, tmp_path / "library").path
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_seed.py"],
        cwd=folder,
        env=clean_environment(tmp_path),  # SQLite: the accounts shape runs on both on the gate
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_rows_refused_on_every_try_leave_the_good_rows_and_a_warning(llm: FakeLLM) -> None:
    """After the bound, the last answer's rows that break no rule are kept (links
    renumbered); a row linked to a row left out goes too; the step says so."""
    books = [
        {**BOOKS[0], "pages": -1},  # its own problem
        {**BOOKS[1], "author": 2},  # its author is left out below
        {**BOOKS[2], "author": 3},  # the third author: second once the bad one is out
    ]
    authors = [AUTHORS[0], {"name": "x" * 81}, AUTHORS[1]]
    bad = answer(authors, books)
    llm.answer(
        tool(bad, input_tokens=500), tool(bad, input_tokens=500), tool(bad, input_tokens=500)
    )
    spec = build_spec(SPEC)
    result = builds.build(spec, resolve(spec), verify=False, timeout=300, llm=settings_for(llm))
    assert len(llm.requests) == 3
    assert json.loads(result.files["app/sample_data.json"]) == {
        "Author": [AUTHORS[0], AUTHORS[1]],
        "Book": [{**BOOKS[2], "author": 2}],
    }
    database = next(r for r in result.records if r.agent is AgentType.DATABASE)
    assert database.status is GenerationStatus.COMPLETED
    assert database.tokens_used >= 1_500  # every answer's tokens, though none was right
    assert database.error is not None
    for said in (
        "in all 3 answers; the app got the 3 rows that were right, 3 left out",
        "Author row 2: name: at most 80 characters",
        "Book row 1: pages: at least 1",
        "Book row 2: author: no usable sample Author to link to",
    ):
        assert said in database.error


def test_an_answer_without_one_usable_row_fails_the_step_after_the_bound(llm: FakeLLM) -> None:
    bad = answer([{"name": "x" * 81}], [{**BOOKS[0], "pages": -1}])
    llm.answer(tool(bad), tool(bad), tool(bad))
    spec = build_spec(SPEC)
    with pytest.raises(GenerationError, match="DATABASE agent failed"):
        builds.build(spec, resolve(spec), verify=False, timeout=300, llm=settings_for(llm))
    assert len(llm.requests) == 3


def test_a_resumed_build_replays_the_rows_without_asking_again(llm: FakeLLM) -> None:
    llm.answer(tool(answer(AUTHORS, BOOKS)))
    spec = build_spec(SPEC)
    model = resolve(spec)
    journal = MemoryJournal()
    first = Orchestrator(agents_for(spec, settings_for(llm))).generate(
        spec, model, verify=False, journal=journal
    )
    journal.records.pop(AgentType.ORCHESTRATOR, None)
    again = Orchestrator(agents_for(spec, settings_for(llm))).generate(
        spec, model, verify=False, journal=journal
    )
    assert len(llm.requests) == 1
    assert again.tree_hash == first.tree_hash


def test_sample_data_without_a_model_says_which_setting_to_set() -> None:
    with pytest.raises(ModelNotConfiguredError, match=r"sample data.*UAB_LLM_PROVIDER"):
        agents_for(build_spec(SPEC), None)


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ({"Author": [{"name": None}]}, "Author row 1: name: required"),
        ({"Author": [{"name": "A\x00"}]}, "name: must not contain NUL characters"),
        ({"Author": [{"name": "A", "email": "nope"}]}, "email: must be an email address"),
        ({"Author": [{"name": "A", "id": 5}]}, "id: not a field clients may set"),
        ({"Author": [{"name": "A"}] * 11}, "Author: 11 rows; at most 10"),
        ({"Ghost": []}, "Ghost: not an entity of this app"),
        ({"Book": [{**BOOKS[0], "price": "NaN", "author": 1}]}, "price: must be a finite number"),
        ({"Book": [{**BOOKS[0], "published": "2019-13-01"}]}, "published: must be an ISO date"),
        ({"Book": [{**BOOKS[0], "pages": True}]}, "pages: must be a whole number"),
        (
            {"Book": [{**BOOKS[0], "author": 1}]},
            "author: must be the position of a sample Author, 1 to 0",
        ),
    ],
)
def test_rows_breaking_the_specs_rules_are_named(rows: dict[str, Any], problem: str) -> None:
    assert any(problem in found for found in row_problems(resolve(build_spec(SPEC)), rows))
