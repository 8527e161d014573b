"""What a black-box probe of generated apps found, each reproduced here and in the
generated suite: astral characters in free text, edge datetimes, NaN, NUL in URLs."""

from __future__ import annotations

import tomllib
from typing import Any

from appbuilder.agents.orchestrator import Orchestrator
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve
from tests.integration.conftest import PG_URL, Backend

#: Astral characters (beyond U+FFFF) wherever a spec holds free text: emoji where any
#: text goes, astral letters (script capitals, CJK extension B) where labels and enum
#: values allow letters only.
ASTRAL: dict[str, Any] = {
    "name": "Party 🎉 \U0001d49cpp",
    "description": "Party 🎉 — fun for 👩‍👩‍👧 families \U0010fffd",
    "features": ["auth", "search"],
    "entities": [
        {
            "name": "Event",
            "label": "\U0001d49c event \U00020000",
            "plural_label": "\U0001d49c events \U00020000",
            "description": "Where 🎉 happens",
            "fields": [
                {"name": "title", "label": "Title \U0001d4af"},
                {"name": "mood", "type": "enum", "values": ["\U0001d4bdappy", "\U00020000", "ok"]},
                {"name": "starts at", "type": "datetime"},
                {"name": "ends at", "type": "datetime", "required": False},
                {"name": "held on", "type": "date"},
                {"name": "price", "type": "decimal", "required": False},
                {"name": "extra", "type": "json", "required": False},
                {"name": "public", "type": "boolean", "default": True},
            ],
        }
    ],
}


def test_astral_characters_in_every_free_text_place_generate_a_verified_app() -> None:
    spec = build_spec(ASTRAL)
    result = Orchestrator().generate(spec, resolve(spec))
    assert result.verification is not None
    assert result.succeeded, result.verification.failing_output
    project = tomllib.loads(result.files["pyproject.toml"].decode())
    assert project["project"]["description"] == ASTRAL["description"]
    suite = result.files["tests/test_event_api.py"].decode()
    for test in (
        "test_datetimes_whose_utc_leaves_the_calendar_are_422",
        "test_dates_at_the_ends_of_the_calendar_are_kept",
        "test_numbers_json_cannot_hold_are_422_with_an_answerable_body",
        "test_nul_characters_in_the_url_are_422",
    ):
        assert f"def {test}(" in suite


#: Names refused before for our internals or for their letters: a first entity ``Body``
#: (the comments' own field), a field ``tags`` (the tags link), names beyond ASCII.
OWN_WORDS: dict[str, Any] = {
    "name": "Café Crème",
    "features": ["auth", "comments", "tags", "search"],
    "entities": [
        {
            "name": "Body",
            "fields": [
                {"name": "title"},
                {"name": "tags", "required": False},
                {"name": "Größe", "type": "integer"},
            ],
            "relations": [{"name": "café", "target": "Café"}],
        },
        {"name": "Café", "fields": [{"name": "prix à payer", "type": "decimal"}]},
    ],
}


def test_our_added_parts_and_names_beyond_ascii_generate_a_verified_app() -> None:
    spec = build_spec(OWN_WORDS)
    model = resolve(spec)
    assert {f.names.label for f in model.entity("Body").fields} >= {"Größe", "Tags"}
    result = Orchestrator().generate(spec, model)
    assert result.verification is not None
    assert result.succeeded, result.verification.failing_output
    page = result.files["app/pages/cafe.py"].decode()
    assert "'Café'" in page or '"Café"' in page


#: Identifiers past PostgreSQL's 63 bytes: two link tables sharing their first 63 bytes,
#: camel-case names whose snake spelling grows, long unique and indexed columns.
LONG_NAMES: dict[str, Any] = {
    "name": "Long Names",
    "entities": [
        {
            "name": "Quarterly Regional Performance Review",
            "fields": [
                {"name": "AVeryLongUniqueFieldNameThatGrowsInSnake", "unique": True},
                {"name": "AVeryLongIndexedFieldNameThatGrowsSnake", "indexed": True},
            ],
            "relations": [
                {
                    "name": "reviewers from the regional office one",
                    "kind": "many_to_many",
                    "target": "Reviewer",
                },
                {
                    "name": "reviewers from the regional office two",
                    "kind": "many_to_many",
                    "target": "Reviewer",
                },
            ],
        },
        {"name": "ReviewerWithAnExtremelyLongCamelCaseName", "fields": [{"name": "title"}]},
        {"name": "Reviewer", "fields": [{"name": "title"}]},
    ],
}


def test_identifiers_fit_postgresql_and_the_gate_runs_the_suite_there(
    postgresql_backend: Backend,
) -> None:
    assert PG_URL is not None  # postgresql_backend needs it
    spec = build_spec(LONG_NAMES)
    model = resolve(spec)
    tables = [e.names.plural_snake for e in model.entities] + [
        m.table for e in model.entities for m in e.many
    ]
    assert len(set(tables)) == len(tables)
    assert max(len(table) for table in tables) <= 63
    result = Orchestrator(verify_database_url=PG_URL).generate(spec, model)
    assert result.verification is not None
    assert result.succeeded, result.verification.failing_output
    assert [c.name for c in result.verification.checks][-2:] == ["tests", "postgresql"]
