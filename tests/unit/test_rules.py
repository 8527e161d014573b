"""The input rules every layer shares, and the one generic page the API answers lists with."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from appbuilder.rules import (
    MAX_PROJECT_NAME_LENGTH,
    ROW_ID,
    ProjectName,
    Text,
    has_unstorable_text,
    text_problem,
)
from appbuilder.services import pagination
from appbuilder.web.schemas import Page


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("plain", None),
        ("emoji 🎉 and accents é", None),
        ("nul\x00here", "must not contain NUL characters"),
        ("half \ud83c pair", "must be valid Unicode text (no unpaired surrogates)"),
    ],
)
def test_text_problem_names_what_the_database_would_refuse(text: str, problem: str | None) -> None:
    assert text_problem(text) == problem


def test_unstorable_text_is_found_anywhere_in_json() -> None:
    assert not has_unstorable_text({"a": [1, "ok", {"b": None}]})
    assert has_unstorable_text({"a": [1, {"b": "x\x00"}]})
    assert has_unstorable_text({"key\ud800": 1})


def test_the_annotated_types_apply_the_same_rule_and_numbers() -> None:
    assert TypeAdapter(Text).validate_python("fine") == "fine"
    with pytest.raises(PydanticValidationError, match="NUL"):
        TypeAdapter(Text).validate_python("a\x00b")
    names = TypeAdapter(ProjectName)
    assert names.validate_python("x" * MAX_PROJECT_NAME_LENGTH)
    with pytest.raises(PydanticValidationError, match="at most 100"):
        names.validate_python("x" * (MAX_PROJECT_NAME_LENGTH + 1))
    with pytest.raises(PydanticValidationError, match="NUL"):
        names.validate_python("a\x00b")


def test_row_ids_are_cuid_like() -> None:
    assert ROW_ID.match("ck1abc_-9")
    assert not ROW_ID.match("../etc")
    assert not ROW_ID.match("x" * 65)


class ThingOut(BaseModel):
    model_config = {"from_attributes": True}
    name: str


class Thing:
    def __init__(self, name: str) -> None:
        self.name = name


def test_one_generic_page_is_named_after_its_items() -> None:
    assert Page[ThingOut].__name__ == "ThingPage"
    assert Page[ThingOut].model_json_schema()["title"] == "ThingPage"


def test_a_page_is_built_from_a_service_page_of_rows() -> None:
    rows = pagination.Page(items=[Thing("a"), Thing("b")], next_cursor="abc")
    page = Page[ThingOut].of(rows)
    assert page.model_dump() == {"items": [{"name": "a"}, {"name": "b"}], "next_cursor": "abc"}
    assert Page[ThingOut].of(pagination.Page(items=[], next_cursor=None)).items == []
