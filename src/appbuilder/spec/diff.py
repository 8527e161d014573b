"""What a change to a spec does, part by part, for a person deciding whether to accept it.

A change request ("add a due date to tasks") comes back from the model as a whole new
spec; reading two specs side by side is how changes slip through unnoticed. The diff
lists what was added, removed and changed - the app's settings and features, each
entity, and each entity's fields, relations, access rules, actions and rules - and says
which changes lose data (an entity's table or a field's column dropped with its rows'
values), so nothing destructive is accepted by accident.

Both specs are compared whole (template presets merged, defaults filled in), so a field
written out in one and left to its default in the other is no change. The ``prompt`` is
left out: it records the words asked, and changes with every request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from appbuilder.spec.model import AppSpec, EntitySpec

Kind = Literal["added", "removed", "changed"]
Part = Literal["app", "feature", "entity", "field", "relation", "access", "action", "rule"]

#: app-level keys compared one by one (``entities`` and ``features`` have their own parts)
APP_KEYS = (
    "name", "slug", "description", "pages", "without_features", "integrations", "deployment",
    "sample_data", "page_copy",
)  # fmt: skip
#: entity-level keys compared one by one (the lists are compared item by item)
ENTITY_KEYS = ("label", "plural_label", "description", "checkout")


@dataclass(frozen=True)
class Change:
    """One difference: what kind, where (a path like ``entities.Task.fields.due_date``),
    the value before and after (JSON, ``None`` when absent), and a sentence saying it."""

    kind: Kind
    part: Part
    path: str
    before: Any
    after: Any
    summary: str
    loses_data: bool = False


@dataclass(frozen=True)
class SpecDiff:
    changes: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def loses_data(self) -> bool:
        return any(change.loses_data for change in self.changes)


def diff_specs(before: AppSpec, after: AppSpec) -> SpecDiff:
    """Every difference from ``before`` to ``after``, in the order a person reads a spec:
    the app, its features, then entity by entity."""
    old = before.model_dump(mode="json")
    new = after.model_dump(mode="json")
    changes = list(_keys("app", "", old, new, APP_KEYS))
    changes += _features(old["features"], new["features"])
    changes += _entities(before.entities, after.entities)
    return SpecDiff(tuple(changes))


def _keys(
    part: Part, prefix: str, old: Mapping[str, Any], new: Mapping[str, Any], keys: Iterable[str]
) -> Iterator[Change]:
    for key in keys:
        if old.get(key) != new.get(key):
            path = f"{prefix}{key}"
            yield Change(
                "changed",
                part,
                path,
                old.get(key),
                new.get(key),
                f"{path}: {_shown(old.get(key))} → {_shown(new.get(key))}",
            )


def _features(old: Sequence[str], new: Sequence[str]) -> Iterator[Change]:
    for feature in new:
        if feature not in old:
            yield Change("added", "feature", "features", None, feature, f"feature {feature} added")
    for feature in old:
        if feature not in new:
            yield Change(
                "removed", "feature", "features", feature, None, f"feature {feature} removed"
            )


def _entities(old: Sequence[EntitySpec], new: Sequence[EntitySpec]) -> Iterator[Change]:
    before = {e.name: e for e in old}
    after = {e.name: e for e in new}
    for name, entity in after.items():
        if name not in before:
            fields = ", ".join(f.name for f in entity.fields) or "no fields"
            yield Change(
                "added",
                "entity",
                f"entities.{name}",
                None,
                entity.model_dump(mode="json", exclude_defaults=True),
                f"entity {name} added ({fields})",
            )
    for name, entity in before.items():
        if name not in after:
            yield Change(
                "removed",
                "entity",
                f"entities.{name}",
                entity.model_dump(mode="json", exclude_defaults=True),
                None,
                f"entity {name} removed: its table and every row in it are dropped",
                loses_data=True,
            )
        else:
            yield from _entity(name, entity, after[name])


def _entity(name: str, old: EntitySpec, new: EntitySpec) -> Iterator[Change]:
    prefix = f"entities.{name}."
    was, now = old.model_dump(mode="json"), new.model_dump(mode="json")
    yield from _keys("entity", prefix, was, now, ENTITY_KEYS)
    yield from _named("field", prefix + "fields", was["fields"], now["fields"], _field_loss)
    yield from _named("relation", prefix + "relations", was["relations"], now["relations"])
    yield from _named("action", prefix + "actions", was["actions"], now["actions"])
    yield from _keys("access", prefix + "access.", was["access"], now["access"], now["access"])
    yield from _rules(prefix + "rules", was.get("rules", []), now.get("rules", []))


def _named(
    part: Part,
    prefix: str,
    old: Sequence[Mapping[str, Any]],
    new: Sequence[Mapping[str, Any]],
    loss: Callable[[Mapping[str, Any], Mapping[str, Any] | None], str] | None = None,
) -> Iterator[Change]:
    """Items matched by name: added, removed (losing data where ``loss`` says why), or
    changed attribute by attribute."""
    before = {item["name"]: item for item in old}
    after = {item["name"]: item for item in new}
    for name, item in after.items():
        path = f"{prefix}.{name}"
        if name not in before:
            yield Change("added", part, path, None, dict(item), f"{part} {path} added")
            continue
        was = before[name]
        changed = {k: (was.get(k), v) for k, v in item.items() if was.get(k) != v}
        if changed:
            why = loss(was, item) if loss else ""
            text = ", ".join(f"{k} {_shown(a)} → {_shown(b)}" for k, (a, b) in changed.items())
            yield Change(
                "changed",
                part,
                path,
                {k: a for k, (a, _) in changed.items()},
                {k: b for k, (_, b) in changed.items()},
                f"{part} {path} changed: {text}" + (f" ({why})" if why else ""),
                loses_data=bool(why),
            )
    for name, item in before.items():
        if name not in after:
            path = f"{prefix}.{name}"
            why = loss(item, None) if loss else ""
            if part == "relation" and item.get("kind") != "one_to_many":
                why = "the link stored on each row is dropped"
            yield Change(
                "removed",
                part,
                path,
                dict(item),
                None,
                f"{part} {path} removed" + (f": {why}" if why else ""),
                loses_data=bool(why),
            )


def _field_loss(old: Mapping[str, Any], new: Mapping[str, Any] | None) -> str:
    """Why a field's change loses its stored values, or '' when it keeps them."""
    if new is None:
        return "its column is dropped with every row's value"
    if old.get("type") != new.get("type"):
        return "stored values may not fit the new type"
    if new.get("computed") and not old.get("computed"):
        return "stored values are replaced by computed ones"
    return ""


def _rules(path: str, old: Sequence[str], new: Sequence[str]) -> Iterator[Change]:
    for rule in new:
        if rule not in old:
            yield Change("added", "rule", path, None, rule, f"rule added to {path}: {rule}")
    for rule in old:
        if rule not in new:
            yield Change("removed", "rule", path, rule, None, f"rule removed from {path}: {rule}")


def _shown(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) + "}"
    return str(value).lower() if isinstance(value, bool) else str(value)


__all__ = ["Change", "SpecDiff", "diff_specs"]
