"""The rules an effective spec must follow, checked all at once.

Every problem is collected with the path of the entity or field it concerns and the rule's
name; value rules (limits, URL and email checks) are the stack's, asked through
``Stack.refuses``, so the spec accepts a default exactly when the generated app would.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from appbuilder.spec.access import check_access
from appbuilder.spec.actions import check_actions, check_rules
from appbuilder.spec.implications import IMPLIED
from appbuilder.spec.model import (
    MAX_ENTITIES,
    MAX_ENUM_VALUES,
    MAX_FIELDS,
    MAX_RELATIONS,
    SIZED_TYPES,
    AppSpec,
    CheckoutSpec,
    EntitySpec,
    FieldSpec,
    FieldType,
    OnDelete,
    RelationKind,
    RelationSpec,
)
from appbuilder.spec.name_rules import check_duplicate, check_name
from appbuilder.spec.names import is_wellformed, names_for, slugify
from appbuilder.spec.ordering import CycleError, creation_order
from appbuilder.spec.problems import Problem
from appbuilder.spec.resolved import AppModel
from appbuilder.spec.stack_rules import StackRules, known_stacks, rules_for
from appbuilder.spec.tenancy import check_tenancy
from appbuilder.spec.value_rules import check_computed_field, check_value_rules

_UNIQUE_TYPES = frozenset(
    {FieldType.STRING, FieldType.EMAIL, FieldType.URL, FieldType.INTEGER, FieldType.DATE}
)


def check_members(model: AppModel) -> Iterable[Problem]:
    """Names that only meet after normalising: inverse links, link columns, link tables."""
    tables = {e.names.plural_snake for e in model.entities}
    for entity in model.entities:
        seen: dict[str, str] = {}
        members = [
            *((f.names.snake, "field") for f in entity.fields),
            *((link.names.snake, "link") for link in entity.links),
            *((f"{link.names.snake}_id", "link column") for link in entity.links),
            *((m.names.snake, "many_to_many link") for m in entity.many),
            *((f"{m.names.snake}_ids", "many_to_many ids") for m in entity.many),
            *((c.inverse.snake, f"inverse of {c.owner}.{c.names.snake}") for c in entity.children),
            *([("owner_id", "owner column the auth feature adds")] if model.has("auth") else []),
        ]
        for name, what in members:
            if name in seen:
                yield Problem(
                    f"entities.{entity.names.pascal}",
                    "same-identifier",
                    f"The {what} {name!r} clashes with the {seen[name]} of that name; "
                    "rename the field, or declare the link on the other side as "
                    "one_to_many with an 'inverse' name.",
                )
            seen.setdefault(name, what)
        for many in entity.many:
            if many.table in tables:
                yield Problem(
                    f"entities.{entity.names.pascal}.relations.{many.names.snake}",
                    "same-identifier",
                    f"The link table {many.table!r} clashes with a table.",
                )


def check_spec(spec: AppSpec) -> list[Problem]:
    """Every problem of an effective spec (see ``implications``), in the order found."""
    problems = list(_check_app(spec))
    stack = rules_for(spec.stack)
    if stack is None:
        known = ", ".join(known_stacks()) or (
            "none is installed: reinstall the package, e.g. pip install -e ., "
            "to register its entry points"
        )
        return [
            *problems,
            Problem("stack", "unknown-stack", f"{spec.stack!r} is not a stack ({known})."),
        ]
    entity_snakes: dict[str, str] = {}
    for entity in spec.entities:
        path = f"entities.{entity.name}"
        problems += check_name(path, entity.name, "entity", spec.features, stack.reserved)
        problems += check_duplicate(path, entity.name, entity_snakes, entity=True)
        problems += _check_entity(path, entity, spec, stack)
        problems += check_actions(path, entity)
        problems += check_rules(path, entity)
    # Creation order is only defined once names are unique and targets known.
    problems += check_tenancy(spec)
    return problems or list(_check_cycles(spec))


def _check_app(spec: AppSpec) -> Iterable[Problem]:
    slug = spec.slug if spec.slug is not None else slugify(spec.name)
    if spec.slug is None and not slug:
        yield Problem(
            "name",
            "slug-format",
            f"{spec.name!r} has no letters or digits to name the app's folder; set 'slug:'.",
        )
    elif not slug or slug != slugify(slug):
        yield Problem(
            "slug", "slug-format", f"{slug!r} is not a slug: use lower-case words and '-'."
        )
    if not spec.entities:
        yield Problem(
            "entities",
            "required",
            "An app needs at least one entity: describe them in its spec "
            "(a spec file with --spec, or the project's config.spec).",
        )
    if len(spec.entities) > MAX_ENTITIES:
        yield Problem("entities", "max-count", f"At most {MAX_ENTITIES} entities are allowed.")
    for feature, needs in IMPLIED:
        if feature in spec.features and needs in spec.without_features:
            yield Problem(
                "without_features",
                "needed",
                f"{needs!r} can't be left out while {feature!r} is on: {feature} needs it.",
            )


def _check_entity(
    path: str, entity: EntitySpec, spec: AppSpec, stack: StackRules
) -> Iterable[Problem]:
    if not entity.fields:
        yield Problem(f"{path}.fields", "empty-entity", "An entity needs at least one field.")
    if len(entity.fields) > MAX_FIELDS:
        yield Problem(f"{path}.fields", "max-count", f"At most {MAX_FIELDS} fields per entity.")
    if len(entity.relations) > MAX_RELATIONS:
        yield Problem(
            f"{path}.relations", "max-count", f"At most {MAX_RELATIONS} relations per entity."
        )
    members: dict[str, str] = {}
    for item in entity.fields:
        field_path = f"{path}.fields.{item.name}"
        yield from check_name(field_path, item.name, "field", (), stack.reserved)
        yield from check_duplicate(field_path, item.name, members)
        yield from _check_field(field_path, item, stack)
    for relation in entity.relations:
        relation_path = f"{path}.relations.{relation.name}"
        yield from check_name(relation_path, relation.name, "relation", (), stack.reserved)
        if relation.inverse is not None:
            yield from check_name(
                f"{relation_path}.inverse", relation.inverse, "relation", (), stack.reserved
            )
        yield from check_duplicate(relation_path, relation.name, members)
        yield from _check_relation(relation_path, entity, relation, spec)
    yield from _check_columns(path, entity)
    yield from check_access(path, entity, spec)
    if entity.checkout is not None:
        yield from _check_checkout(f"{path}.checkout", entity, entity.checkout)


def _check_checkout(path: str, entity: EntitySpec, checkout: CheckoutSpec) -> Iterable[Problem]:
    fields = {f.name: f for f in entity.fields}
    amount = fields.get(checkout.amount_field)
    if amount is None or amount.type is not FieldType.DECIMAL or not amount.required:
        yield Problem(
            f"{path}.amount_field",
            "required-decimal",
            f"{checkout.amount_field!r} must be a required decimal field of {entity.name}.",
        )
    name = checkout.status_field
    if name is None:
        return
    status = fields.get(name)
    if status is None or status.type is not FieldType.ENUM:
        yield Problem(
            f"{path}.status_field",
            "enum-field",
            f"{name!r} must be an enum field of {entity.name}.",
        )
    elif status.default is None or status.default == checkout.paid_value:
        yield Problem(
            f"{path}.status_field",
            "unpaid-default",
            f"{name!r} needs a default other than {checkout.paid_value!r}: new rows start unpaid.",
        )
    elif checkout.paid_value not in status.values or len(status.values) < 2:
        yield Problem(
            f"{path}.paid_value",
            "enum-value",
            f"{checkout.paid_value!r} must be one of {name!r}'s values, beside an unpaid one.",
        )
    elif status.values.index(str(status.default)) > status.values.index(checkout.paid_value):
        yield Problem(
            f"{path}.status_field",
            "unpaid-default",
            f"{name!r}'s default must come before {checkout.paid_value!r} in its values: the "
            "values from it on are closed (paid, shipped, cancelled), new rows start open.",
        )


def _check_field(path: str, item: FieldSpec, stack: StackRules) -> Iterable[Problem]:
    if item.max_length is not None and item.type not in SIZED_TYPES:
        yield Problem(
            f"{path}.max_length",
            "not-applicable",
            "max_length applies to string, email and url fields only.",
        )
    if item.type is FieldType.ENUM:
        if not item.values:
            yield Problem(f"{path}.values", "required", "An enum field needs at least one value.")
        yield from _check_enum_values(f"{path}.values", item.values)
    elif item.values:
        yield Problem(f"{path}.values", "not-applicable", "values apply to enum fields only.")
    if item.unique and item.type not in _UNIQUE_TYPES:
        yield Problem(
            f"{path}.unique", "not-applicable", f"A {item.type.value} field cannot be unique."
        )
    if item.indexed and item.type in {FieldType.JSON, FieldType.TEXT}:
        yield Problem(
            f"{path}.indexed", "not-applicable", f"A {item.type.value} field cannot be indexed."
        )
    yield from check_value_rules(path, item, stack)
    if item.computed is not None:
        yield from check_computed_field(path, item)
    elif item.default is not None:
        yield from _check_default(f"{path}.default", item, stack)


def _check_enum_values(path: str, values: list[str]) -> Iterable[Problem]:
    if len(values) > MAX_ENUM_VALUES:
        yield Problem(path, "max-count", f"At most {MAX_ENUM_VALUES} values.")
    if len(set(values)) != len(values):
        yield Problem(path, "duplicate", "Enum values must be distinct.")
    for value in values:
        if not value.isprintable() or value != value.strip():
            yield Problem(
                path, "value-format", f"{value!r}: no control characters or outer spaces."
            )


#: The moving defaults of dates and datetimes: the day or moment a row is stored.
MOVING_DEFAULTS = {FieldType.DATE: "today", FieldType.DATETIME: "now"}


def _check_default(path: str, item: FieldSpec, stack: StackRules) -> Iterable[Problem]:
    default = item.default
    if item.type in MOVING_DEFAULTS:
        yield from _check_moving_default(path, item)
        return
    if item.type is FieldType.JSON:
        if not isinstance(default, dict | list):
            yield Problem(path, "type", "The default of a json field must be an object or a list.")
        elif reason := stack.refuses(item, default):
            yield Problem(path, "default-value", f"The default {reason}.")
        return
    expected: dict[FieldType, tuple[type, ...]] = {
        FieldType.STRING: (str,),
        FieldType.TEXT: (str,),
        FieldType.EMAIL: (str,),
        FieldType.URL: (str,),
        FieldType.ENUM: (str,),
        FieldType.BOOLEAN: (bool,),
        FieldType.INTEGER: (int,),
        FieldType.DECIMAL: (int, Decimal),
    }
    allowed = expected.get(item.type)
    if allowed is None:
        yield Problem(path, "not-applicable", f"A {item.type.value} field cannot have a default.")
    elif isinstance(default, bool) != (bool in allowed) or not isinstance(default, allowed):
        yield Problem(path, "type", f"The default must be a {item.type.value}.")
    elif item.type is FieldType.ENUM and default not in item.values:
        yield Problem(path, "enum-value", f"The default {default!r} is not one of the values.")
    else:
        reason = stack.refuses(item, default)
        if reason:
            yield Problem(path, "default-value", f"The default {default!r} {reason}.")


def _check_moving_default(path: str, item: FieldSpec) -> Iterable[Problem]:
    word = MOVING_DEFAULTS[item.type]
    if item.default != word:
        yield Problem(
            path,
            "default-value",
            f"A {item.type.value} field's default can only be {word!r} (the {item.type.value} "
            "the row is stored at, in UTC); leave it out for none.",
        )
    elif item.min is not None or item.max is not None:
        yield Problem(
            path,
            "default-value",
            f"A default of {word!r} moves with the clock, so a min or max would refuse it some "
            "day; drop one of them.",
        )


def _check_relation(
    path: str, entity: EntitySpec, relation: RelationSpec, spec: AppSpec
) -> Iterable[Problem]:
    known = {names_for(e.name).snake: e for e in spec.entities if is_wellformed(e.name)}
    target = known.get(names_for(relation.target).snake) if is_wellformed(relation.target) else None
    if target is None:
        names = ", ".join(sorted(e.name for e in spec.entities)) or "none"
        yield Problem(
            f"{path}.target",
            "unknown-entity",
            f"{relation.target!r} is not an entity of this app (entities: {names}).",
        )
        return
    kind = relation.kind
    if relation.required and kind is not RelationKind.MANY_TO_ONE:
        yield Problem(f"{path}.required", "not-applicable", "required applies to many_to_one only.")
    if relation.inverse is not None and kind is not RelationKind.ONE_TO_MANY:
        yield Problem(f"{path}.inverse", "not-applicable", "inverse applies to one_to_many only.")
    if kind is RelationKind.MANY_TO_ONE and relation.required:
        if relation.on_delete is OnDelete.SET_NULL:
            yield Problem(
                f"{path}.on_delete",
                "contradiction",
                "A required link cannot be set to null when its target is deleted.",
            )
        if target is entity:
            yield Problem(
                f"{path}.required",
                "self-required",
                "A required link to the same entity leaves no way to create the first row.",
            )
    if kind is RelationKind.MANY_TO_MANY and relation.on_delete is not None:
        yield Problem(
            f"{path}.on_delete",
            "not-applicable",
            "many_to_many links are removed with either row; on_delete does not apply.",
        )
    if relation.linkable_if is not None:
        yield from _check_linkable_if(f"{path}.linkable_if", relation, target)


def _check_linkable_if(path: str, relation: RelationSpec, target: EntitySpec) -> Iterable[Problem]:
    """``linkable_if`` names boolean or enum fields of the target, each with a value it can hold."""
    if relation.kind is RelationKind.ONE_TO_MANY:
        yield Problem(
            path, "not-applicable", "linkable_if applies to many_to_one and many_to_many only."
        )
        return
    fields = {names_for(f.name).snake: f for f in target.fields if is_wellformed(f.name)}
    for name, value in (relation.linkable_if or {}).items():
        found = fields.get(names_for(name).snake) if is_wellformed(name) else None
        if found is None:
            yield Problem(
                f"{path}.{name}",
                "unknown-name",
                f"{target.name} has no field {name!r} "
                f"(fields: {', '.join(sorted(fields)) or 'none'}).",
            )
        elif found.type not in (FieldType.BOOLEAN, FieldType.ENUM) or found.private:
            yield Problem(
                f"{path}.{name}",
                "wrong-type",
                f"{target.name}.{name} must be a boolean or enum field that is not private.",
            )
        elif found.type is FieldType.BOOLEAN and not isinstance(value, bool):
            yield Problem(
                f"{path}.{name}", "invalid-value", f"{target.name}.{name} is true or false."
            )
        elif found.type is FieldType.ENUM and value not in found.values:
            yield Problem(
                f"{path}.{name}",
                "invalid-value",
                f"{value!r} is not one of {target.name}.{name}'s values "
                f"({', '.join(found.values)}).",
            )


def _check_columns(path: str, entity: EntitySpec) -> Iterable[Problem]:
    """A link's ``<name>_id`` column must not clash with a field of the same spelling."""
    if not all(is_wellformed(f.name) for f in entity.fields):
        return
    fields = {names_for(f.name).snake for f in entity.fields}
    for relation in entity.relations:
        if not is_wellformed(relation.name):
            continue
        column = f"{names_for(relation.name).snake}_id"
        if relation.kind is RelationKind.MANY_TO_ONE and column in fields:
            yield Problem(
                f"{path}.relations.{relation.name}",
                "same-identifier",
                f"The link's column {column!r} clashes with the field of that name.",
            )


def _check_cycles(spec: AppSpec) -> Iterable[Problem]:
    try:
        creation_order(spec)
    except CycleError as error:
        yield Problem(
            f"entities.{error.entity}.relations",
            "relation-cycle",
            f"Required links form a cycle through {error.entity!r}: no row could be created "
            "first, as each needs another to exist. Make one link optional (required: false; "
            "rows are then created with it empty and it is set later), many_to_many, or drop "
            "it.",
        )
    except KeyError:
        return  # unknown targets were reported already
