"""Rules an AppSpec must follow, checked all at once, and the normalised model they guard.

``resolve`` is the only way to an ``AppModel``: it applies feature implications, adds the
entities some features need, checks every rule (collecting every problem with the path of
the entity or field it concerns and the rule's name) and only then normalises names.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from decimal import Decimal

from email_validator import EmailNotValidError, validate_email

from appbuilder.errors import SpecError
from appbuilder.spec.model import (
    DEFAULT_STRING_LENGTH,
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
    Integrations,
    OnDelete,
    RelationKind,
    RelationSpec,
)
from appbuilder.spec.names import is_python_keyword, is_wellformed, names_for, slugify
from appbuilder.spec.reserved import (
    ANNOTATION_NAMES,
    FEATURE_CLASSES,
    FEATURE_TABLES,
    FILTER_LOCALS,
    FRAMEWORK_ATTRIBUTES,
    MODULE_NAMES,
    RESERVED_CLASSES,
    SHADOWED_NAMES,
    SQL_RESERVED,
    TABLE_AND_URL_NAMES,
)
from appbuilder.spec.resolved import AppEntity, AppField, AppModel, Checkout, Link, ManyToMany

Problem = tuple[str, str, str]

_IMPLIED = (("admin", "auth"), ("api_keys", "auth"))
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_WEB_URL = re.compile(r"^https?://[^\s/$.?#].[^\s]*$", re.IGNORECASE)
_UNIQUE_TYPES = frozenset(
    {FieldType.STRING, FieldType.EMAIL, FieldType.URL, FieldType.INTEGER, FieldType.DATE}
)


def spec_hash(spec: AppSpec) -> str:
    """Content hash of a spec: the same spec, however written, hashes the same."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def effective_spec(spec: AppSpec) -> AppSpec:
    """The spec with implied features and integrations, and the entities features add."""
    features: set[str] = {f for f in spec.features if f not in spec.without_features}
    for feature, needs in _IMPLIED:
        if feature in features:
            features.add(needs)
    if any(e.checkout for e in spec.entities):
        features.add("payments")
    without = set(spec.without_features)
    stripe = (spec.integrations.stripe and "payments" not in without) or "payments" in features
    smtp = (spec.integrations.smtp and "email" not in without) or "email" in features
    s3 = spec.integrations.s3
    features |= {name for name, on in (("payments", stripe), ("email", smtp)) if on}
    if s3:
        features.add("file_uploads")
    entities = _with_feature_entities(spec.entities, features)
    return spec.model_copy(
        update={
            "features": sorted(features),  # valid names: FEATURES and their implications
            "integrations": Integrations(stripe=stripe, smtp=smtp, s3=s3),
            "entities": entities,
        }
    )


#: The entity a feature adds when the spec has none of that name.
_FEATURE_ENTITY = {"tags": "Tag", "comments": "Comment"}


def _with_feature_entities(entities: list[EntitySpec], features: set[str]) -> list[EntitySpec]:
    if not entities:
        return entities
    primary = entities[0]
    known = {names_for(e.name).snake for e in entities if is_wellformed(e.name)}
    result = list(entities)
    owner = names_for(primary.name).snake if is_wellformed(primary.name) else "item"
    if "tags" in features and "tag" not in known:
        tag = FieldSpec(name="name", max_length=50, unique=True)
        result.append(EntitySpec(name=_FEATURE_ENTITY["tags"], fields=[tag]))
        if not any(r.name == "tags" for r in primary.relations):
            link = RelationSpec(
                name="tags", kind=RelationKind.MANY_TO_MANY, target=_FEATURE_ENTITY["tags"]
            )
            result[0] = primary.model_copy(update={"relations": [*primary.relations, link]})
    if "comments" in features and "comment" not in known:
        fields = [
            FieldSpec(name="author_name", max_length=80),
            FieldSpec(name="body", type=FieldType.TEXT),
        ]
        parent = RelationSpec(name=owner, target=primary.name, required=True)
        result.append(
            EntitySpec(name=_FEATURE_ENTITY["comments"], fields=fields, relations=[parent])
        )
    return result


def resolve(spec: AppSpec) -> AppModel:
    """Check every rule; return the normalised model or raise one SpecError listing all."""
    effective = effective_spec(spec)
    added = {e.name for e in effective.entities} - {e.name for e in spec.entities}
    problems = list(_check(effective))
    if problems:
        raise SpecError(problems)
    model = _build(spec, effective, added)
    problems = list(_check_members(model))
    if problems:
        raise SpecError(problems)
    return model


def _check_members(model: AppModel) -> Iterable[Problem]:
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
                yield (
                    f"entities.{entity.names.pascal}",
                    "same-identifier",
                    f"The {what} {name!r} clashes with the {seen[name]} of that name; "
                    "rename the field, or declare the link on the other side as "
                    "one_to_many with an 'inverse' name.",
                )
            seen.setdefault(name, what)
        for many in entity.many:
            if many.table in tables:
                yield (
                    f"entities.{entity.names.pascal}.relations.{many.names.snake}",
                    "same-identifier",
                    f"The link table {many.table!r} clashes with a table.",
                )


def _check(spec: AppSpec) -> list[Problem]:
    problems = list(_check_app(spec))
    entity_snakes: dict[str, str] = {}
    for entity in spec.entities:
        path = f"entities.{entity.name}"
        problems += _check_name(path, entity.name, "entity", spec.features)
        problems += _check_duplicate(path, entity.name, entity_snakes, entity=True)
        problems += _check_entity(path, entity, spec)
    # Creation order is only defined once names are unique and targets known.
    return problems or list(_check_cycles(spec))


def _check_app(spec: AppSpec) -> Iterable[Problem]:
    slug = spec.slug if spec.slug is not None else slugify(spec.name)
    if spec.slug is None and not slug:
        yield (
            "name",
            "slug-format",
            f"{spec.name!r} has no letters or digits to name the app's folder; set 'slug:'.",
        )
    elif not slug or slug != slugify(slug):
        yield ("slug", "slug-format", f"{slug!r} is not a slug: use lower-case words and '-'.")
    if not spec.entities:
        yield (
            "entities",
            "required",
            "An app needs at least one entity: describe them in its spec "
            "(a spec file with --spec, or the project's config.spec).",
        )
    if len(spec.entities) > MAX_ENTITIES:
        yield ("entities", "max-count", f"At most {MAX_ENTITIES} entities are allowed.")
    for feature, needs in _IMPLIED:
        if feature in spec.features and needs in spec.without_features:
            yield (
                "without_features",
                "needed",
                f"{needs!r} can't be left out while {feature!r} is on: {feature} needs it.",
            )


def _check_name(path: str, name: str, what: str, features: Iterable[str]) -> Iterable[Problem]:
    if not is_wellformed(name):
        yield (
            path,
            "name-format",
            f"{what} name {name!r} must start with a letter and "
            "hold only letters, digits, spaces, '_' or '-'.",
        )
        return
    names = names_for(name)
    if is_python_keyword(names.snake):
        yield (path, "reserved-word", f"{name!r} is a Python keyword.")
    elif names.snake in SQL_RESERVED and what != "relation":  # a link's column ends in _id
        yield (
            path,
            "reserved-word",
            f"{name!r} is an SQL reserved word; try a longer name such as 'Customer{names.pascal}'."
            if what == "entity"
            else f"{name!r} is an SQL reserved word.",
        )
    elif what == "entity":
        yield from _check_entity_name(path, name, features)
    elif names.snake in FRAMEWORK_ATTRIBUTES or names.snake.startswith("model_"):
        yield (path, "reserved-word", f"{name!r} is used by the generated models itself.")
    elif what == "field" and names.snake in ANNOTATION_NAMES:
        yield (path, "reserved-word", f"{name!r} would shadow the type of the same name.")


def _check_entity_name(path: str, name: str, features: Iterable[str]) -> Iterable[Problem]:
    names = names_for(name)
    if names.snake in SHADOWED_NAMES or names.pascal in RESERVED_CLASSES:
        yield (path, "reserved-word", f"{name!r} would shadow a Python name of the same spelling.")
        return
    if names.snake in MODULE_NAMES:
        yield (path, "reserved-word", f"{name!r} clashes with a module the generator writes.")
        return
    feature_tables = {t for f in features for t in FEATURE_TABLES.get(f, ())}
    if names.plural_snake in TABLE_AND_URL_NAMES | feature_tables:
        yield (
            path,
            "reserved-word",
            f"{name!r} clashes with the table or URL {names.plural_snake!r} the app has.",
        )
        return
    for feature in features:
        if names.pascal in FEATURE_CLASSES.get(feature, ()):
            yield (
                path,
                "reserved-word",
                f"{name!r} clashes with the {names.pascal} model the {feature!r} feature adds.",
            )


def _check_duplicate(
    path: str, name: str, seen: dict[str, str], *, entity: bool = False
) -> Iterable[Problem]:
    """Two names clash if a spelling the generator uses is the same: for entities the
    class, table and module (``Item2`` and ``Item 2``; ``Specie`` and ``Species``)."""
    if not is_wellformed(name):
        return
    names = names_for(name)
    spellings = (names.snake, names.pascal, names.plural_snake) if entity else (names.snake,)
    for spelling in dict.fromkeys(spellings):
        if spelling in seen:
            if seen[spelling] == name:
                yield (path, "duplicate", f"{name!r} is declared twice.")
            else:
                yield (
                    path,
                    "same-identifier",
                    f"{name!r} and {seen[spelling]!r} both become {spelling!r}.",
                )
            return
    for spelling in spellings:
        seen[spelling] = name


def _check_entity(path: str, entity: EntitySpec, spec: AppSpec) -> Iterable[Problem]:
    if not entity.fields:
        yield (f"{path}.fields", "empty-entity", "An entity needs at least one field.")
    if len(entity.fields) > MAX_FIELDS:
        yield (f"{path}.fields", "max-count", f"At most {MAX_FIELDS} fields per entity.")
    if len(entity.relations) > MAX_RELATIONS:
        yield (f"{path}.relations", "max-count", f"At most {MAX_RELATIONS} relations per entity.")
    members: dict[str, str] = {}
    for item in entity.fields:
        field_path = f"{path}.fields.{item.name}"
        yield from _check_name(field_path, item.name, "field", ())
        yield from _check_duplicate(field_path, item.name, members)
        yield from _check_field(field_path, item)
    for relation in entity.relations:
        relation_path = f"{path}.relations.{relation.name}"
        yield from _check_name(relation_path, relation.name, "relation", ())
        if relation.inverse is not None:
            yield from _check_name(f"{relation_path}.inverse", relation.inverse, "relation", ())
        yield from _check_duplicate(relation_path, relation.name, members)
        yield from _check_relation(relation_path, entity, relation, spec)
    yield from _check_columns(path, entity)
    if entity.checkout is not None:
        yield from _check_checkout(f"{path}.checkout", entity, entity.checkout)


def _check_checkout(path: str, entity: EntitySpec, checkout: CheckoutSpec) -> Iterable[Problem]:
    fields = {f.name: f for f in entity.fields}
    amount = fields.get(checkout.amount_field)
    if amount is None or amount.type is not FieldType.DECIMAL or not amount.required:
        yield (
            f"{path}.amount_field",
            "required-decimal",
            f"{checkout.amount_field!r} must be a required decimal field of {entity.name}.",
        )
    name = checkout.status_field
    if name is None:
        return
    status = fields.get(name)
    if status is None or status.type is not FieldType.ENUM:
        yield (
            f"{path}.status_field",
            "enum-field",
            f"{name!r} must be an enum field of {entity.name}.",
        )
    elif status.default is None or status.default == checkout.paid_value:
        yield (
            f"{path}.status_field",
            "unpaid-default",
            f"{name!r} needs a default other than {checkout.paid_value!r}: new rows start unpaid.",
        )
    elif checkout.paid_value not in status.values or len(status.values) < 2:
        yield (
            f"{path}.paid_value",
            "enum-value",
            f"{checkout.paid_value!r} must be one of {name!r}'s values, beside an unpaid one.",
        )


def _check_field(path: str, item: FieldSpec) -> Iterable[Problem]:
    filterable = item.type in {FieldType.BOOLEAN, FieldType.ENUM}
    if filterable and is_wellformed(item.name) and names_for(item.name).snake in FILTER_LOCALS:
        yield (
            f"{path}.name",
            "reserved-word",
            f"This {item.type.value} field becomes a list filter; {item.name!r} is taken there.",
        )
    if item.max_length is not None and item.type not in SIZED_TYPES:
        yield (
            f"{path}.max_length",
            "not-applicable",
            "max_length applies to string, email and url fields only.",
        )
    if item.type is FieldType.ENUM:
        if not item.values:
            yield (f"{path}.values", "required", "An enum field needs at least one value.")
        yield from _check_enum_values(f"{path}.values", item.values)
    elif item.values:
        yield (f"{path}.values", "not-applicable", "values apply to enum fields only.")
    if item.unique and item.type not in _UNIQUE_TYPES:
        yield (f"{path}.unique", "not-applicable", f"A {item.type.value} field cannot be unique.")
    if item.indexed and item.type in {FieldType.JSON, FieldType.TEXT}:
        yield (f"{path}.indexed", "not-applicable", f"A {item.type.value} field cannot be indexed.")
    if item.default is not None:
        yield from _check_default(f"{path}.default", item)


def _check_enum_values(path: str, values: list[str]) -> Iterable[Problem]:
    if len(values) > MAX_ENUM_VALUES:
        yield (path, "max-count", f"At most {MAX_ENUM_VALUES} values.")
    if len(set(values)) != len(values):
        yield (path, "duplicate", "Enum values must be distinct.")
    for value in values:
        if not value.isprintable() or value != value.strip():
            yield (path, "value-format", f"{value!r}: no control characters or outer spaces.")


def _check_default(path: str, item: FieldSpec) -> Iterable[Problem]:
    default = item.default
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
        yield (path, "not-applicable", f"A {item.type.value} field cannot have a default.")
    elif isinstance(default, bool) != (bool in allowed) or not isinstance(default, allowed):
        yield (path, "type", f"The default must be a {item.type.value}.")
    elif item.type is FieldType.ENUM and default not in item.values:
        yield (path, "enum-value", f"The default {default!r} is not one of the values.")
    else:
        reason = _default_breaks_rule(item, default)
        if reason:
            yield (path, "default-value", f"The default {default!r} {reason}.")


def _is_email(value: str) -> bool:
    """The check the generated app makes (email-validator, no DNS), so a default passes it."""
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _default_breaks_rule(item: FieldSpec, default: object) -> str | None:
    """The same rules the generated app applies to a value sent by a client."""
    if isinstance(default, str):
        return _text_default_breaks_rule(item, default)
    if (
        isinstance(default, int)
        and not isinstance(default, bool)
        and not INT_MIN <= default <= INT_MAX
    ):
        return f"is outside {INT_MIN}..{INT_MAX}"
    if isinstance(default, Decimal):
        exponent = default.as_tuple().exponent
        too_precise = isinstance(exponent, int) and exponent < -2
        if not default.is_finite() or too_precise or abs(default) >= 10**10:
            return "must have at most 10 digits before the point and 2 after"
    return None


def _text_default_breaks_rule(item: FieldSpec, default: str) -> str | None:
    limit = item.max_length or DEFAULT_STRING_LENGTH
    if not default.strip() or len(default) > limit:
        return f"must be 1 to {limit} characters"
    if "\x00" in default:
        return "contains a NUL character"
    if item.type is FieldType.EMAIL and not _is_email(default):
        return "is not an email address the app would accept"
    if item.type is FieldType.URL and not _WEB_URL.match(default):
        return "is not an http(s) URL"
    return None


def _check_relation(
    path: str, entity: EntitySpec, relation: RelationSpec, spec: AppSpec
) -> Iterable[Problem]:
    known = {names_for(e.name).snake: e for e in spec.entities if is_wellformed(e.name)}
    target = known.get(names_for(relation.target).snake) if is_wellformed(relation.target) else None
    if target is None:
        names = ", ".join(sorted(e.name for e in spec.entities)) or "none"
        yield (
            f"{path}.target",
            "unknown-entity",
            f"{relation.target!r} is not an entity of this app (entities: {names}).",
        )
        return
    kind = relation.kind
    if relation.required and kind is not RelationKind.MANY_TO_ONE:
        yield (f"{path}.required", "not-applicable", "required applies to many_to_one only.")
    if relation.inverse is not None and kind is not RelationKind.ONE_TO_MANY:
        yield (f"{path}.inverse", "not-applicable", "inverse applies to one_to_many only.")
    if kind is RelationKind.MANY_TO_ONE and relation.required:
        if relation.on_delete is OnDelete.SET_NULL:
            yield (
                f"{path}.on_delete",
                "contradiction",
                "A required link cannot be set to null when its target is deleted.",
            )
        if target is entity:
            yield (
                f"{path}.required",
                "self-required",
                "A required link to the same entity leaves no way to create the first row.",
            )
    if kind is RelationKind.MANY_TO_MANY and target is entity:
        yield (f"{path}.target", "not-supported", "A many_to_many link to itself is not supported.")
    if kind is RelationKind.MANY_TO_MANY and relation.on_delete is not None:
        yield (
            f"{path}.on_delete",
            "not-applicable",
            "many_to_many links are removed with either row; on_delete does not apply.",
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
            yield (
                f"{path}.relations.{relation.name}",
                "same-identifier",
                f"The link's column {column!r} clashes with the field of that name.",
            )


def _links_of(spec: AppSpec) -> list[tuple[EntitySpec, RelationSpec, EntitySpec]]:
    """Every many-to-one link as (owner, relation, target), one_to_many turned around."""
    by_snake = {names_for(e.name).snake: e for e in spec.entities}
    links = []
    for entity in spec.entities:
        for relation in entity.relations:
            target = by_snake[names_for(relation.target).snake]
            if relation.kind is RelationKind.MANY_TO_ONE:
                links.append((entity, relation, target))
            elif relation.kind is RelationKind.ONE_TO_MANY:
                links.append((target, relation, entity))
    return links


def _check_cycles(spec: AppSpec) -> Iterable[Problem]:
    try:
        _creation_order(spec)
    except _CycleError as error:
        yield (
            f"entities.{error.entity}.relations",
            "relation-cycle",
            f"Links form a cycle through {error.entity!r}; make one side many_to_many "
            "or drop it, so rows can be created in some order.",
        )
    except KeyError:
        return  # unknown targets were reported already


class _CycleError(Exception):
    def __init__(self, entity: str) -> None:
        self.entity = entity


def _creation_order(spec: AppSpec) -> list[EntitySpec]:
    """Entities sorted so each comes after its link targets; declared order breaks ties."""
    depends: dict[str, set[str]] = {e.name: set() for e in spec.entities}
    for owner, _relation, target in _links_of(spec):
        if owner is not target:
            depends[owner.name].add(target.name)
    ordered: list[EntitySpec] = []
    placed: set[str] = set()
    while len(ordered) < len(spec.entities):
        ready = [e for e in spec.entities if e.name not in placed and depends[e.name] <= placed]
        if not ready:
            stuck = next(e.name for e in spec.entities if e.name not in placed)
            raise _CycleError(stuck)
        ordered.append(ready[0])
        placed.add(ready[0].name)
    return ordered


def _build(original: AppSpec, spec: AppSpec, added: set[str]) -> AppModel:
    links_by_owner: dict[str, list[Link]] = {}
    children: dict[str, list[Link]] = {}
    for owner, relation, target in _links_of(spec):
        link = _link(owner, relation, target)
        links_by_owner.setdefault(owner.name, []).append(link)
        children.setdefault(target.name, []).append(link)
    entities = []
    for entity in _creation_order(spec):
        entities.append(
            AppEntity(
                names=names_for(entity.name, entity.label, entity.plural_label),
                description=entity.description,
                fields=tuple(_field(f) for f in entity.fields),
                links=tuple(links_by_owner.get(entity.name, ())),
                many=tuple(
                    _many(entity, r, spec)
                    for r in entity.relations
                    if r.kind is RelationKind.MANY_TO_MANY
                ),
                children=tuple(children.get(entity.name, ())),
                added_by_feature=_feature_of(entity.name) if entity.name in added else None,
                checkout=_checkout(entity),
            )
        )
    return AppModel(
        name=spec.name,
        slug=spec.slug or slugify(spec.name),
        template=spec.template,
        description=spec.description,
        pages=spec.pages,
        features=frozenset(spec.features),
        integrations=spec.integrations,
        deployment=spec.deployment,
        entities=tuple(entities),
        spec_hash=spec_hash(original),
        primary_name=names_for(spec.entities[0].name).pascal,
    )


def _checkout(entity: EntitySpec) -> Checkout | None:
    checkout = entity.checkout
    if checkout is None:
        return None
    fields = {f.name: f for f in entity.fields}
    status = checkout.status_field
    return Checkout(
        amount=_field(fields[checkout.amount_field]),
        status=_field(fields[status]) if status else None,
        paid_value=checkout.paid_value,
    )


def _feature_of(name: str) -> str:
    return next(feature for feature, entity in _FEATURE_ENTITY.items() if entity == name)


def _field(item: FieldSpec) -> AppField:
    sized = item.type in SIZED_TYPES
    return AppField(
        names=names_for(item.name, item.label),
        type=item.type,
        required=item.required,
        unique=item.unique,
        indexed=item.indexed,
        default=item.default,
        max_length=(item.max_length or DEFAULT_STRING_LENGTH) if sized else None,
        values=tuple(item.values),
    )


def _link(owner: EntitySpec, relation: RelationSpec, target: EntitySpec) -> Link:
    if relation.kind is RelationKind.ONE_TO_MANY:
        # Declared on the parent: the child gets the column, named after the parent.
        return Link(
            names=names_for(relation.inverse or target.name),
            owner=names_for(owner.name).pascal,
            target=names_for(target.name).pascal,
            required=False,
            on_delete=relation.on_delete or OnDelete.SET_NULL,
            inverse=names_for(relation.name),
        )
    on_delete = relation.on_delete or (OnDelete.CASCADE if relation.required else OnDelete.SET_NULL)
    owner_names = names_for(owner.name)
    return Link(
        names=names_for(relation.name),
        owner=owner_names.pascal,
        target=names_for(target.name).pascal,
        required=relation.required,
        on_delete=on_delete,
        inverse=names_for(f"{owner_names.snake} {relation.name} set")
        if _inverse_taken(owner, relation)
        else names_for(owner_names.plural_snake),
    )


def _inverse_taken(owner: EntitySpec, relation: RelationSpec) -> bool:
    """Two links from one owner to one target need distinct inverse names."""
    same_target = [
        r
        for r in owner.relations
        if r.kind is RelationKind.MANY_TO_ONE and r.target == relation.target
    ]
    return len(same_target) > 1


def _many(entity: EntitySpec, relation: RelationSpec, spec: AppSpec) -> ManyToMany:
    owner = names_for(entity.name)
    target = next(
        e for e in spec.entities if names_for(e.name).snake == names_for(relation.target).snake
    )
    return ManyToMany(
        names=names_for(relation.name),
        owner=owner.pascal,
        target=names_for(target.name).pascal,
        table=f"{owner.snake}_{names_for(relation.name).snake}",
    )
