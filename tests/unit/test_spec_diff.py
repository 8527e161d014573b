"""The spec diff a person reads before accepting a change request: every part added,
removed or changed is listed once, with what loses data flagged; no model involved."""

from __future__ import annotations

from typing import Any

from appbuilder.enums import ProjectTemplate
from appbuilder.spec.diff import diff_specs
from appbuilder.spec.loading import build_spec
from appbuilder.spec.model import AppSpec

TASKS: dict[str, Any] = {
    "name": "Todo",
    "features": ["auth"],
    "entities": [
        {
            "name": "Task",
            "fields": [{"name": "title"}, {"name": "done", "type": "boolean", "default": False}],
            "relations": [{"name": "project", "target": "Project"}],
        },
        {"name": "Project", "fields": [{"name": "name"}]},
    ],
}


def spec(**changes: Any) -> AppSpec:
    return AppSpec.model_validate({**TASKS, **changes})


def entities(*edits: dict[str, Any]) -> list[dict[str, Any]]:
    """TASKS' entities with the first one's keys replaced by ``edits[0]``."""
    return [{**TASKS["entities"][0], **edits[0]}, *TASKS["entities"][1:]]


def test_the_same_spec_has_no_changes_and_the_prompt_is_not_one() -> None:
    assert diff_specs(spec(), spec(prompt="add nothing")).empty


def test_defaults_written_out_are_no_change() -> None:
    title = {"name": "title", "type": "string", "required": True}
    done = {"name": "done", "type": "boolean", "default": False}
    written = entities({"fields": [title, done]})
    assert diff_specs(spec(), spec(entities=written)).empty


def test_a_field_added_is_one_change_that_keeps_data() -> None:
    due = {"name": "due_date", "type": "date", "required": False}
    fields = [*TASKS["entities"][0]["fields"], due]
    diff = diff_specs(spec(), spec(entities=entities({"fields": fields})))
    [change] = diff.changes
    assert (change.kind, change.part, change.path) == (
        "added",
        "field",
        "entities.Task.fields.due_date",
    )
    assert change.after["type"] == "date"
    assert change.before is None
    assert not diff.loses_data


def test_a_field_changed_names_each_attribute_and_a_type_change_loses_data() -> None:
    fields = [{"name": "title", "max_length": 80}, {"name": "done", "type": "integer"}]
    diff = diff_specs(spec(), spec(entities=entities({"fields": fields})))
    by_path = {c.path: c for c in diff.changes}
    title = by_path["entities.Task.fields.title"]
    assert title.kind == "changed"
    assert (title.before, title.after) == ({"max_length": None}, {"max_length": 80})
    assert not title.loses_data
    done = by_path["entities.Task.fields.done"]
    assert done.before == {"type": "boolean", "default": False}
    assert done.after == {"type": "integer", "default": None}
    assert done.loses_data
    assert "may not fit the new type" in done.summary


def test_removing_an_entity_says_its_rows_are_dropped() -> None:
    kept = [{**TASKS["entities"][0], "relations": []}]
    diff = diff_specs(spec(), spec(entities=kept))
    kinds = {(c.kind, c.part, c.path) for c in diff.changes}
    assert kinds == {
        ("removed", "entity", "entities.Project"),
        ("removed", "relation", "entities.Task.relations.project"),
    }
    assert diff.loses_data
    removed = next(c for c in diff.changes if c.part == "entity")
    assert "every row in it are dropped" in removed.summary
    assert removed.before["fields"] == [{"name": "name"}]


def test_removing_a_field_loses_its_values_and_adding_an_entity_lists_its_fields() -> None:
    added = {"name": "Tag", "fields": [{"name": "label"}, {"name": "colour"}]}
    one_field = [{**TASKS["entities"][0], "fields": [{"name": "title"}]}]
    diff = diff_specs(spec(), spec(entities=[*one_field, TASKS["entities"][1], added]))
    by_path = {c.path: c for c in diff.changes}
    assert by_path["entities.Task.fields.done"].loses_data
    assert by_path["entities.Tag"].summary == "entity Tag added (label, colour)"
    assert not by_path["entities.Tag"].loses_data


def test_access_rules_features_actions_and_rules_in_words() -> None:
    changed = entities(
        {
            "access": {"read": "owner"},
            "actions": [{"name": "complete", "description": "sets done; owner only"}],
            "rules": ["the title must not be all capitals"],
        }
    )
    diff = diff_specs(spec(), spec(entities=changed, features=["auth", "search"]))
    found = {(c.kind, c.part, c.path, str(c.after)) for c in diff.changes}
    assert ("added", "feature", "features", "search") in found
    assert ("changed", "access", "entities.Task.access.read", "owner") in found
    assert ("added", "rule", "entities.Task.rules", "the title must not be all capitals") in found
    action = next(c for c in diff.changes if c.part == "action")
    assert (action.kind, action.path) == ("added", "entities.Task.actions.complete")
    # and back: everything added is removed, nothing else
    back = diff_specs(spec(entities=changed, features=["auth", "search"]), spec())
    assert {(c.kind, c.part) for c in back.changes} == {
        ("removed", "feature"), ("changed", "access"), ("removed", "action"), ("removed", "rule"),
    }  # fmt: skip


def test_app_settings_are_compared_key_by_key() -> None:
    diff = diff_specs(spec(), spec(name="Tasks", sample_data=True, pages=False))
    assert [(c.path, c.before, c.after) for c in diff.changes] == [
        ("name", "Todo", "Tasks"),
        ("pages", True, False),
        ("sample_data", False, True),
    ]
    assert diff.changes[0].summary == "name: 'Todo' → 'Tasks'"


def test_template_presets_are_merged_before_comparing() -> None:
    shop = build_spec({}, template=ProjectTemplate.ECOMMERCE)
    same = build_spec({"name": shop.name}, template=ProjectTemplate.ECOMMERCE)
    assert diff_specs(shop, same).empty
