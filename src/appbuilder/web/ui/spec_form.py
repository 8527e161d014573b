"""The editable plan: an app spec as rows of a form (entities, their fields, relations and
access rules; the app's features) and back. What the form does not show of a row (a
field's max_length, an entity's actions...) rides along in a hidden JSON input, so editing
a name never loses the rest of the plan. The add/remove buttons are submit buttons: the
editor works without JavaScript."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, get_args

import yaml
from starlette.datastructures import FormData

from appbuilder.spec.model import AccessRule, Feature, FieldType, RelationKind

FIELD_TYPES = [t.value for t in FieldType]
RELATION_KINDS = [k.value for k in RelationKind]
ACCESS_RULES = list(get_args(AccessRule))
FEATURES = list(get_args(Feature))
OPERATIONS = ("read", "create", "update", "delete")
#: the most rows one post may hold (the spec's own limits are checked by its rules)
MAX_ROWS = 200
SHOWN_FIELD_KEYS = {"name", "type", "required", "unique"}
SHOWN_RELATION_KEYS = {"name", "kind", "target", "required"}
SHOWN_ENTITY_KEYS = {"name", "description", "fields", "relations", "access"}
SHOWN_APP_KEYS = {"description", "entities", "features"}


@dataclass
class FieldRow:
    name: str = ""
    type: str = "string"
    required: bool = True
    unique: bool = False
    rest: dict[str, Any] = field(default_factory=dict)


@dataclass
class RelationRow:
    name: str = ""
    kind: str = "many_to_one"
    target: str = ""
    required: bool = False
    rest: dict[str, Any] = field(default_factory=dict)


@dataclass
class EntityRow:
    name: str = ""
    description: str = ""
    access: dict[str, str] = field(default_factory=dict)
    fields: list[FieldRow] = field(default_factory=list)
    relations: list[RelationRow] = field(default_factory=list)
    rest: dict[str, Any] = field(default_factory=dict)


@dataclass
class SpecForm:
    description: str = ""
    features: list[str] = field(default_factory=list)
    entities: list[EntityRow] = field(default_factory=list)
    rest: dict[str, Any] = field(default_factory=dict)


def _rest(data: dict[str, Any], shown: set[str]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in shown}


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def from_spec(spec: dict[str, Any]) -> SpecForm:
    """The rows of ``spec`` (what a user wrote or the planner made, not the resolved app)."""
    entities = [
        EntityRow(
            name=str(e.get("name", "")),
            description=str(e.get("description", "")),
            access={op: str(v) for op, v in (e.get("access") or {}).items() if v},
            fields=[
                FieldRow(
                    name=str(f.get("name", "")),
                    type=str(f.get("type", "string")),
                    required=bool(f.get("required", True)),
                    unique=bool(f.get("unique", False)),
                    rest=_rest(f, SHOWN_FIELD_KEYS),
                )
                for f in _dicts(e.get("fields"))
            ],
            relations=[
                RelationRow(
                    name=str(r.get("name", "")),
                    kind=str(r.get("kind", "many_to_one")),
                    target=str(r.get("target", "")),
                    required=bool(r.get("required", False)),
                    rest=_rest(r, SHOWN_RELATION_KEYS),
                )
                for r in _dicts(e.get("relations"))
            ],
            rest=_rest(e, SHOWN_ENTITY_KEYS),
        )
        for e in _dicts(spec.get("entities"))
    ]
    features = spec.get("features")
    return SpecForm(
        description=str(spec.get("description", "")),
        features=[f for f in features if isinstance(f, str)] if isinstance(features, list) else [],
        entities=entities,
        rest=_rest(spec, SHOWN_APP_KEYS),
    )


def to_spec(form: SpecForm) -> dict[str, Any]:
    """The spec the rows say: what a run is started with."""
    spec: dict[str, Any] = dict(form.rest)
    if form.description:
        spec["description"] = form.description
    spec["features"] = list(form.features)
    spec["entities"] = [_entity(e) for e in form.entities]
    return spec


def _entity(row: EntityRow) -> dict[str, Any]:
    entity: dict[str, Any] = {"name": row.name, **row.rest}
    if row.description:
        entity["description"] = row.description
    entity["fields"] = [
        {
            "name": f.name,
            "type": f.type,
            "required": f.required,
            **_flag(f.unique, "unique"),
            **f.rest,
        }
        for f in row.fields
    ]
    if row.relations:
        entity["relations"] = [
            {
                "name": r.name,
                "kind": r.kind,
                "target": r.target,
                **_flag(r.required, "required"),
                **r.rest,
            }
            for r in row.relations
        ]
    if row.access:
        entity["access"] = dict(row.access)
    return entity


def _flag(value: bool, name: str) -> dict[str, bool]:
    return {name: True} if value else {}


def _json(value: str | None) -> dict[str, Any]:
    try:
        loaded = json.loads(value or "{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


class _Reader:
    """Typed reads of one posted form."""

    def __init__(self, data: FormData) -> None:
        self.data = data

    def text(self, name: str, limit: int = 2000) -> str:
        value = self.data.get(name)
        return value.strip()[:limit] if isinstance(value, str) else ""

    def flag(self, name: str) -> bool:
        return self.data.get(name) is not None

    def count(self, name: str) -> int:
        raw = self.text(name, 4)
        return min(int(raw), MAX_ROWS) if raw.isdigit() else 0


def from_post(data: FormData) -> SpecForm:
    """The rows a posted editor form holds."""
    read = _Reader(data)
    entities = []
    for i in range(read.count("entities")):
        p = f"e{i}"
        entities.append(
            EntityRow(
                name=read.text(f"{p}.name", 100),
                description=read.text(f"{p}.description", 500),
                access={op: v for op in OPERATIONS if (v := read.text(f"{p}.access.{op}", 20))},
                fields=[_field_row(read, f"{p}.f{j}") for j in range(read.count(f"{p}.fields"))],
                relations=[
                    _relation_row(read, f"{p}.r{k}") for k in range(read.count(f"{p}.relations"))
                ],
                rest=_json(read.text(f"{p}.rest", 100_000)),
            )
        )
    return SpecForm(
        description=read.text("description", 2000),
        features=[f for f in data.getlist("features") if isinstance(f, str) and f in FEATURES],
        entities=entities,
        rest=_json(read.text("rest", 100_000)),
    )


def _field_row(read: _Reader, p: str) -> FieldRow:
    return FieldRow(
        name=read.text(f"{p}.name", 100),
        type=read.text(f"{p}.type", 20) or "string",
        required=read.flag(f"{p}.required"),
        unique=read.flag(f"{p}.unique"),
        rest=_json(read.text(f"{p}.rest", 20_000)),
    )


def _relation_row(read: _Reader, p: str) -> RelationRow:
    return RelationRow(
        name=read.text(f"{p}.name", 100),
        kind=read.text(f"{p}.kind", 20) or "many_to_one",
        target=read.text(f"{p}.target", 100),
        required=read.flag(f"{p}.required"),
        rest=_json(read.text(f"{p}.rest", 20_000)),
    )


def apply(form: SpecForm, action: str) -> SpecForm:
    """Add or remove a row as a button asks (``add_field:0``, ``remove_relation:1:2``...);
    anything else leaves the rows as they are."""
    verb, *numbers = action.split(":")
    try:
        at = [int(n) for n in numbers]
    except ValueError:
        return form
    if verb == "add_entity":
        form.entities.append(EntityRow(fields=[FieldRow()]))
    elif len(at) >= 1 and 0 <= at[0] < len(form.entities):
        entity = form.entities[at[0]]
        if verb == "remove_entity":
            del form.entities[at[0]]
        elif verb == "add_field":
            entity.fields.append(FieldRow())
        elif verb == "add_relation":
            entity.relations.append(RelationRow())
        elif verb == "remove_field" and len(at) == 2 and 0 <= at[1] < len(entity.fields):
            del entity.fields[at[1]]
        elif verb == "remove_relation" and len(at) == 2 and 0 <= at[1] < len(entity.relations):
            del entity.relations[at[1]]
    return form


def as_yaml(spec: dict[str, Any]) -> str:
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)


def from_yaml(text: str) -> dict[str, Any]:
    """The spec a person typed as YAML; ValueError says what is wrong with it."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"The YAML could not be read: {error}") from error
    if not isinstance(loaded, dict):
        raise ValueError("The YAML must be a mapping (name: ..., entities: [...]).")
    return loaded


def rest_json(rest: dict[str, Any]) -> str:
    return json.dumps(rest, separators=(",", ":"), default=str)
