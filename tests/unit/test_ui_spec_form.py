"""The plan editor's rows: a spec survives the trip through the form (what the form does
not show rides along), the add/remove buttons change only their row, and the session
cookie is Secure in production."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.responses import Response
from starlette.datastructures import FormData

from appbuilder.settings import Settings
from appbuilder.web.ui import spec_form
from appbuilder.web.ui.deps import set_session_cookie

SPEC: dict[str, Any] = {
    "name": "Shop",
    "page_copy": True,
    "features": ["auth", "search"],
    "entities": [
        {
            "name": "Product",
            "label": "Product",
            "fields": [
                {"name": "title", "type": "string", "required": True, "max_length": 80},
                {"name": "price", "type": "decimal", "required": True, "min": 0},
            ],
            "relations": [
                {"name": "category", "kind": "many_to_one", "target": "Category", "required": True}
            ],
            "access": {"read": "public", "delete": "admin"},
            "rules": ["price is positive"],
        },
        {"name": "Category", "fields": [{"name": "name", "type": "string", "required": True}]},
    ],
}


def post_of(form: spec_form.SpecForm) -> FormData:
    """What a browser posts for the rendered rows (the names plan.html gives them)."""
    items: list[tuple[str, str]] = [
        ("description", form.description),
        ("rest", spec_form.rest_json(form.rest)),
        ("entities", str(len(form.entities))),
        *(("features", f) for f in form.features),
    ]
    for i, e in enumerate(form.entities):
        p = f"e{i}"
        items += [(f"{p}.name", e.name), (f"{p}.description", e.description)]
        items += [(f"{p}.rest", spec_form.rest_json(e.rest)), (f"{p}.fields", str(len(e.fields)))]
        items += [(f"{p}.relations", str(len(e.relations)))]
        items += [(f"{p}.access.{op}", rule) for op, rule in e.access.items()]
        for j, f in enumerate(e.fields):
            q = f"{p}.f{j}"
            items += [(f"{q}.name", f.name), (f"{q}.type", f.type)]
            items += [(f"{q}.rest", spec_form.rest_json(f.rest))]
            items += [(f"{q}.required", "on")] if f.required else []
        for k, r in enumerate(e.relations):
            q = f"{p}.r{k}"
            items += [(f"{q}.name", r.name), (f"{q}.kind", r.kind), (f"{q}.target", r.target)]
            items += [(f"{q}.rest", spec_form.rest_json(r.rest))]
            items += [(f"{q}.required", "on")] if r.required else []
    return FormData(items)


def test_a_spec_survives_the_form_both_ways() -> None:
    form = spec_form.from_spec(SPEC)
    again = spec_form.to_spec(spec_form.from_post(post_of(form)))
    assert again == SPEC
    assert spec_form.from_yaml(spec_form.as_yaml(again)) == SPEC


@pytest.mark.parametrize(
    ("action", "fields", "relations", "entities"),
    [
        ("add_field:0", 3, 1, 2),
        ("remove_field:0:1", 1, 1, 2),
        ("add_relation:0", 2, 2, 2),
        ("remove_relation:0:0", 2, 0, 2),
        ("add_entity", 2, 1, 3),
        ("remove_entity:1", 2, 1, 1),
        ("remove_field:0:9", 2, 1, 2),  # out of range: nothing happens
        ("remove_field:x", 2, 1, 2),
        ("remove_entity:7", 2, 1, 2),
    ],
)
def test_buttons_change_only_their_row(
    action: str, fields: int, relations: int, entities: int
) -> None:
    form = spec_form.apply(spec_form.from_spec(SPEC), action)
    assert len(form.entities) == entities
    assert len(form.entities[0].fields) == fields
    assert len(form.entities[0].relations) == relations
    assert form.entities[0].rest == {"label": "Product", "rules": ["price is positive"]}


def test_yaml_that_is_not_a_mapping_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="mapping"):
        spec_form.from_yaml("- just\n- a list\n")
    with pytest.raises(ValueError, match="could not be read"):
        spec_form.from_yaml("name: [unclosed\n")


def test_tampered_hidden_inputs_and_counts_stay_bounded() -> None:
    posted = FormData([("entities", "99999"), ("rest", "not json"), ("e0.fields", "-1")])
    form = spec_form.from_post(posted)
    assert len(form.entities) == spec_form.MAX_ROWS
    assert form.rest == {}
    assert form.entities[0].fields == []


@pytest.mark.parametrize(("env", "secure"), [("production", True), ("development", False)])
def test_the_session_cookie_is_secure_in_production(env: str, secure: bool) -> None:
    settings = Settings(env=env, secret_key="kZ3x9-Qw7Lp2Rt8Vb4Nm6Yc1Hd5Jf0Gs")
    response = Response()
    set_session_cookie(response, "uabs_token", settings)
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert ("Secure" in cookie) is secure
