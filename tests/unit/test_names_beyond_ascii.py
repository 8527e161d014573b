"""Names a user writes in their own letters, and the parts features add, never refused
for our internals: identifiers are derived in ASCII, labels keep the user's words, and an
added entity or link steps out of the way of the user's names."""

from __future__ import annotations

from typing import Any

import pytest

from appbuilder.enums import ProjectTemplate
from appbuilder.errors import SpecError
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve


def _resolve(data: dict[str, Any]) -> Any:
    return resolve(build_spec(data, template=ProjectTemplate.CUSTOM))


def test_letters_beyond_ascii_keep_their_label_and_get_ascii_identifiers() -> None:
    model = _resolve(
        {
            "name": "Crème Café",
            "entities": [
                {"name": "Café", "fields": [{"name": "Größe"}, {"name": "prix à payer"}]},
                {"name": "Æble træ", "fields": [{"name": "høide", "type": "integer"}]},
            ],
        }
    )
    assert model.slug == "creme-cafe"
    cafe, tree = model.entities
    assert (cafe.names.pascal, cafe.names.snake, cafe.names.kebab_plural) == (
        "Cafe",
        "cafe",
        "cafes",
    )
    assert (cafe.names.label, cafe.names.plural_label) == ("Café", "Cafés")
    assert [(f.names.snake, f.names.label) for f in cafe.fields] == [
        ("grosse", "Größe"),
        ("prix_a_payer", "Prix à payer"),
    ]
    assert (tree.names.pascal, tree.names.label) == ("AebleTrae", "Æble træ")


def test_names_that_meet_after_ascii_spelling_are_reported_with_both_names() -> None:
    with pytest.raises(SpecError) as raised:
        _resolve(
            {
                "name": "Twins",
                "entities": [
                    {"name": "Café", "fields": [{"name": "title"}]},
                    {"name": "Cafe", "fields": [{"name": "title"}]},
                ],
            }
        )
    [(path, rule, message)] = raised.value.problems
    assert (path, rule) == ("entities.Cafe", "same-identifier")
    assert message == "'Cafe' and 'Café' both become 'cafe'."


def test_letters_without_an_ascii_spelling_ask_for_a_name_and_a_label() -> None:
    with pytest.raises(SpecError) as raised:
        _resolve({"name": "Books", "entities": [{"name": "Книга", "fields": [{"name": "t"}]}]})
    [(path, rule, message)] = raised.value.problems
    assert (path, rule) == ("entities.Книга", "name-format")
    assert "no ASCII spelling" in message
    assert "label: 'Книга'" in message
    named = _resolve(
        {
            "name": "Books",
            "entities": [{"name": "Book", "label": "Книга", "fields": [{"name": "t"}]}],
        }
    )
    assert named.entities[0].names.label == "Книга"


@pytest.mark.parametrize(
    "first", ["Body", "Author Name", "Comment Target", "QuarterlyRegionalPerformanceReviewRecord"]
)
def test_comments_step_out_of_the_way_of_the_first_entity_s_name(first: str) -> None:
    model = _resolve(
        {
            "name": "Notes",
            "features": ["comments"],
            "entities": [{"name": first, "fields": [{"name": "x"}]}],
        }
    )
    comment = model.entity("Comment")
    [link] = comment.links
    assert link.target == next(
        e.names.pascal for e in model.entities if e.names.pascal != "Comment"
    )
    assert {f.names.snake for f in comment.fields} == {"author_name", "body"}
    assert link.names.snake not in {"author_name", "body"}


@pytest.mark.parametrize("kind", ["string", "text"])
def test_tags_step_out_of_the_way_of_a_field_named_tags(kind: str) -> None:
    post = {"name": "Post", "fields": [{"name": "title"}, {"name": "tags", "type": kind}]}
    model = _resolve({"name": "Blog", "features": ["tags"], "entities": [post]})
    entity = model.entity("Post")
    assert [f.names.snake for f in entity.fields] == ["title", "tags"]
    [many] = entity.many
    assert many.target == "Tag"
    assert many.names.snake != "tags"
