"""The rows kept from a model's last answer when none was right in every row: what breaks a
rule is left out, links are renumbered, and what is kept breaks no rule."""

from __future__ import annotations

from appbuilder.spec.loading import build_spec
from appbuilder.spec.sample_rows import row_problems, usable_rows
from appbuilder.spec.validation import resolve

MODEL = resolve(
    build_spec(
        {
            "name": "Library",
            "entities": [
                {"name": "Shelf", "fields": [{"name": "label", "max_length": 20}]},
                {"name": "Author", "fields": [{"name": "name", "max_length": 20}]},
                {
                    "name": "Book",
                    "fields": [{"name": "title", "max_length": 20}],
                    "relations": [
                        {"name": "shelf", "target": "Shelf"},  # optional, listed first
                        {"name": "author", "target": "Author", "required": True},
                    ],
                },
            ],
        }
    )
)


def test_a_required_link_to_a_row_left_out_leaves_the_row_out_whatever_comes_first() -> None:
    rows = {
        "Shelf": [{"label": "x" * 21}, {"label": "Hall"}],
        "Author": [{"name": "y" * 21}, {"name": "Ada"}],
        "Book": [
            {"title": "Both gone", "shelf": 1, "author": 1},
            {"title": "Shelf gone", "shelf": 1, "author": 2},
            {"title": "Kept", "shelf": 2, "author": 2},
        ],
    }
    usable, left_out = usable_rows(MODEL, rows)
    assert usable == {
        "Shelf": [{"label": "Hall"}],
        "Author": [{"name": "Ada"}],
        "Book": [
            {"title": "Shelf gone", "shelf": None, "author": 1},
            {"title": "Kept", "shelf": 1, "author": 1},
        ],
    }
    assert row_problems(MODEL, usable) == []
    assert "Book row 1: author: no usable sample Author to link to" in left_out
    assert len(left_out) == 3  # the long label, the long name, the first book


TEAMS = resolve(
    build_spec(
        {
            "name": "Teams",
            "features": ["auth", "organizations"],
            "entities": [
                {"name": "Team", "organization": True, "fields": [{"name": "name"}]},
                {
                    "name": "Project",
                    "fields": [{"name": "title"}],
                    "relations": [{"name": "team", "target": "Team", "required": True}],
                },
                {
                    "name": "Task",
                    "fields": [{"name": "title"}],
                    "relations": [
                        {"name": "team", "target": "Team", "required": True},
                        {"name": "project", "target": "Project"},
                    ],
                },
            ],
        }
    )
)


def test_a_row_links_only_into_its_own_organisation() -> None:
    """The app refuses a link into another organisation as a link to no row: the sample
    rows are refused before the app is, and the good ones kept."""
    rows = {
        "Team": [{"name": "Ants"}, {"name": "Bees"}],
        "Project": [{"title": "Hill", "team": 1}, {"title": "Hive", "team": 2}],
        "Task": [
            {"title": "Dig", "team": 1, "project": 1},
            {"title": "Sting", "team": 1, "project": 2},  # the Bees' project
            {"title": "Loose", "team": 2},  # no project: nothing to check
        ],
    }
    said = "project: must be a sample Project of the same organisation as this row"
    assert row_problems(TEAMS, rows) == [f"Task row 2: {said} (Project 2 belongs to another)"]
    usable, left_out = usable_rows(TEAMS, rows)
    assert usable["Task"] == [rows["Task"][0], rows["Task"][2]]
    assert left_out == [f"Task row 2: {said} (Project 2 belongs to another)"]


def test_a_row_links_only_to_rows_its_link_may_take() -> None:
    """``linkable_if``: an order item for a withdrawn product is refused by the app, so the
    sample row is refused first (a product leaving ``active`` out takes its default)."""
    shop = resolve(
        build_spec(
            {
                "name": "Shop",
                "entities": [
                    {
                        "name": "Product",
                        "fields": [
                            {"name": "name", "max_length": 20},
                            {"name": "active", "type": "boolean", "default": True},
                        ],
                    },
                    {
                        "name": "Item",
                        "fields": [{"name": "note", "max_length": 20}],
                        "relations": [
                            {
                                "name": "product",
                                "target": "Product",
                                "required": True,
                                "linkable_if": {"active": True},
                            }
                        ],
                    },
                ],
            }
        )
    )
    rows = {
        "Product": [{"name": "Pen"}, {"name": "Ink", "active": False}],
        "Item": [{"note": "a", "product": 1}, {"note": "b", "product": 2}],
    }
    said = "product: must be a sample Product whose active is True (Product 2 is not)"
    assert row_problems(shop, rows) == [f"Item row 2: {said}"]
    usable, _ = usable_rows(shop, rows)
    assert usable["Item"] == [rows["Item"][0]]
