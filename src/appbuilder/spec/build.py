"""Building the normalised ``AppModel`` from a spec that passed every rule."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from decimal import Decimal

from appbuilder.spec.access import access_of, personal_entities
from appbuilder.spec.implications import FEATURE_ENTITY
from appbuilder.spec.model import (
    DEFAULT_STRING_LENGTH,
    SIZED_TYPES,
    AppSpec,
    EntitySpec,
    FieldSpec,
    FieldType,
    OnDelete,
    RelationKind,
    RelationSpec,
)
from appbuilder.spec.names import entity_names, fit_identifier, names_for, slugify
from appbuilder.spec.ordering import creation_order, deferred_links, links_of
from appbuilder.spec.resolved import AppEntity, AppField, AppModel, Checkout, Link, ManyToMany
from appbuilder.spec.tenancy import organization_of, tenant_column
from appbuilder.spec.value_rules import parse_bound


def spec_hash(spec: AppSpec) -> str:
    """Content hash of a spec: the same spec, however written (defaults spelled out or
    left out), hashes the same, and a new optional key in the spec format changes no
    existing spec's hash."""
    data = spec.model_dump(mode="json", exclude_defaults=True)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def build_model(original: AppSpec, spec: AppSpec, added: set[str]) -> AppModel:
    links_by_owner: dict[str, list[Link]] = {}
    children: dict[str, list[Link]] = {}
    deferred = deferred_links(spec)
    for owner, relation, target in links_of(spec):
        link = _link(owner, relation, target)
        if id(relation) in deferred:
            link = _deferred(link, owner, target)
        links_by_owner.setdefault(owner.name, []).append(link)
        children.setdefault(target.name, []).append(link)
    entities = []
    personal = personal_entities(spec)
    organization = organization_of(spec)
    for entity in creation_order(spec):
        entities.append(
            AppEntity(
                names=entity_names(entity.name, entity.label, entity.plural_label),
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
                access=access_of(entity, spec, personal),
                rules=tuple(entity.rules),
                tenant=tenant_column(entity, spec),
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
        primary_name=entity_names(spec.entities[0].name).pascal,
        stack=spec.stack,
        sample_data=spec.sample_data,
        organization_name=entity_names(organization.name).pascal if organization else None,
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
    return next(feature for feature, entity in FEATURE_ENTITY.items() if entity == name)


def _field(item: FieldSpec) -> AppField:
    sized = item.type in SIZED_TYPES
    return AppField(
        names=names_for(item.name, item.label),
        type=item.type,
        required=item.required,
        unique=item.unique,
        indexed=item.indexed,
        default=_default(item),
        max_length=(item.max_length or DEFAULT_STRING_LENGTH) if sized else None,
        values=tuple(item.values),
        minimum=None if item.min is None else parse_bound(item.type, item.min),
        maximum=None if item.max is None else parse_bound(item.type, item.max),
        min_length=item.min_length,
        pattern=item.pattern,
        private=item.private,
        readonly=item.readonly,
    )


def _default(item: FieldSpec) -> bool | int | Decimal | str | None:
    """A decimal field's whole-number default is a Decimal too (``0`` is ``Decimal("0")``);
    a json field's is its JSON text (the model stays hashable, and every row gets a fresh
    copy of it)."""
    default = item.default
    if isinstance(default, dict | list):
        return json.dumps(default, ensure_ascii=False)
    if isinstance(default, bool) or not isinstance(default, int):
        return default
    return Decimal(default) if item.type is FieldType.DECIMAL else default


def _link(owner: EntitySpec, relation: RelationSpec, target: EntitySpec) -> Link:
    if relation.kind is RelationKind.ONE_TO_MANY:
        # Declared on the parent: the child gets the column, named after the parent.
        return Link(
            names=names_for(relation.inverse or entity_names(target.name).snake),
            owner=entity_names(owner.name).pascal,
            target=entity_names(target.name).pascal,
            required=False,
            on_delete=relation.on_delete or OnDelete.SET_NULL,
            inverse=names_for(relation.name),
        )
    on_delete = relation.on_delete or (OnDelete.CASCADE if relation.required else OnDelete.SET_NULL)
    owner_names = entity_names(owner.name)
    words = names_for(owner.name)  # the parent's list of these rows, in the user's words
    return Link(
        names=names_for(relation.name),
        owner=owner_names.pascal,
        target=entity_names(target.name).pascal,
        required=relation.required,
        on_delete=on_delete,
        inverse=names_for(f"{words.key} {relation.name} set")
        if _inverse_taken(owner, relation)
        else names_for(words.plural_snake),
        linkable_if=_linkable_if(relation),
    )


def _linkable_if(relation: RelationSpec) -> tuple[tuple[str, bool | str], ...]:
    """The target's (field, value) pairs a linked row must hold, field names in snake case."""
    return tuple(
        (names_for(name).snake, value) for name, value in (relation.linkable_if or {}).items()
    )


def _deferred(link: Link, owner: EntitySpec, target: EntitySpec) -> Link:
    """A link in a cycle whose target's table comes later: its foreign key gets a name of
    its own (the migration adds it, and removes it first, by that name)."""
    tables = entity_names(owner.name).plural_snake, entity_names(target.name).plural_snake
    name = fit_identifier(f"fk_{tables[0]}_{link.names.snake}_id_{tables[1]}")
    return dataclasses.replace(link, deferred=True, constraint=name)


def _inverse_taken(owner: EntitySpec, relation: RelationSpec) -> bool:
    """Two links from one owner to one target need distinct inverse names."""
    same_target = [
        r
        for r in owner.relations
        if r.kind is RelationKind.MANY_TO_ONE and r.target == relation.target
    ]
    return len(same_target) > 1


def _many(entity: EntitySpec, relation: RelationSpec, spec: AppSpec) -> ManyToMany:
    owner = entity_names(entity.name)
    target = next(
        e for e in spec.entities if names_for(e.name).snake == names_for(relation.target).snake
    )
    target_names = entity_names(target.name)
    link = names_for(relation.name)
    to_itself = target_names.pascal == owner.pascal
    return ManyToMany(
        names=link,
        owner=owner.pascal,
        target=target_names.pascal,
        table=fit_identifier(f"{owner.snake}_{link.snake}"),
        owner_column=fit_identifier(f"{owner.snake}_id"),
        target_column=fit_identifier(f"{link.snake if to_itself else target_names.snake}_id"),
        linkable_if=_linkable_if(relation),
    )
