"""Tenancy: organisations, their members, and the entities whose rows belong to one.

With the ``organizations`` feature one entity is marked ``organization: true``; its rows
are organisations, and the app keeps who belongs to each (a membership with a role:
``owner``, ``admin`` or ``member``). An entity with a required many_to_one link to it is a
*tenant* entity: each row belongs to the organisation it links to, and the ``member`` and
``org_admin`` rules read that link. Requiring the link directly (not through another
entity) keeps the rule one indexed column in every query, so scoping can't be forgotten on
some path; a row linking to another tenant row must stay inside its own organisation.
"""

from __future__ import annotations

from collections.abc import Iterable

from appbuilder.spec.model import AppSpec, EntitySpec, RelationKind, RelationSpec
from appbuilder.spec.names import names_for
from appbuilder.spec.problems import Problem
from appbuilder.spec.resolved import Access

#: Rules that read the row's organisation.
TENANT_RULES = frozenset({"member", "org_admin"})
#: Tenant entities' default: any member of the row's organisation does everything.
MEMBERS = Access(read="member", create="member", update="member", delete="member")
#: The organisation entity's default: members read it, its owners and admins change it,
#: and any signed-in user may start one (becoming its owner).
ORGANIZATION = Access(read="member", create="signed_in", update="org_admin", delete="org_admin")


def organization_of(spec: AppSpec) -> EntitySpec | None:
    """The entity marked ``organization: true`` when the feature is on (the first one)."""
    if "organizations" not in spec.features:
        return None
    return next((e for e in spec.entities if e.organization), None)


def tenant_links(entity: EntitySpec, organization: EntitySpec) -> list[RelationSpec]:
    """The entity's required many_to_one links to the organisation entity."""
    target = names_for(organization.name).snake
    return [
        r
        for r in entity.relations
        if r.kind is RelationKind.MANY_TO_ONE
        and r.required
        and names_for(r.target).snake == target
        and entity is not organization
    ]


def tenant_column(entity: EntitySpec, spec: AppSpec) -> str | None:
    """``id`` for the organisation entity, ``<link>_id`` for tenant entities, else None."""
    organization = organization_of(spec)
    if organization is None:
        return None
    if entity is organization:
        return "id"
    links = tenant_links(entity, organization)
    return f"{names_for(links[0].name).snake}_id" if len(links) == 1 else None


def default_access(entity: EntitySpec, spec: AppSpec) -> Access | None:
    """The tenancy default for the entity, or None when tenancy says nothing about it."""
    column = tenant_column(entity, spec)
    if column is None:
        return None
    return ORGANIZATION if column == "id" else MEMBERS


def check_tenancy(spec: AppSpec) -> Iterable[Problem]:
    """One organisation entity with the feature, none without; rules it needs, it has."""
    marked = [e for e in spec.entities if e.organization]
    on = "organizations" in spec.features
    if on and not marked:
        yield Problem(
            "features",
            "needs-organization",
            "The organizations feature needs an entity whose rows are organisations: mark "
            "one 'organization: true' (e.g. an entity Organisation with a name field).",
        )
    for entity in marked[1:] if on else marked:
        yield Problem(
            f"entities.{entity.name}.organization",
            "one-organization" if on else "needs-organizations",
            f"Only one entity may be the organisation ({marked[0].name!r} is)."
            if on
            else "An organisation entity needs the organizations feature: add "
            "'organizations' to features.",
        )
    organization = organization_of(spec)
    if organization is not None and organization.access.create == "public":
        yield Problem(
            f"entities.{organization.name}.access.create",
            "organization-creator",
            "Whoever creates an organisation becomes its owner, so anonymous visitors "
            "can't: use signed_in (any user may start one) or admin.",
        )
    if organization is not None:
        yield from _check_own_tenant_links(organization, spec)
    for entity in spec.entities:
        yield from _check_rules(entity, organization)


def _check_own_tenant_links(organization: EntitySpec, spec: AppSpec) -> Iterable[Problem]:
    """An organisation can't require one of its own tenant rows: those need the
    organisation to exist first, so no organisation could ever be created."""
    tenants = {names_for(e.name).snake for e in spec.entities if tenant_links(e, organization)}
    for relation in organization.relations:
        if (
            relation.kind is RelationKind.MANY_TO_ONE
            and relation.required
            and names_for(relation.target).snake in tenants
        ):
            yield Problem(
                f"entities.{organization.name}.relations.{relation.name}",
                "organization-requires-tenant-row",
                f"Every {relation.target!r} belongs to a {organization.name!r} (its required "
                f"link), so a new {organization.name!r} has none to link to yet: make "
                f"{relation.name!r} required: false and set it once the "
                f"{organization.name!r} has its own {relation.target!r} rows.",
            )


def _check_rules(entity: EntitySpec, organization: EntitySpec | None) -> Iterable[Problem]:
    path = f"entities.{entity.name}"
    links = tenant_links(entity, organization) if organization is not None else []
    if len(links) > 1:
        yield Problem(
            f"{path}.relations.{links[1].name}",
            "one-tenant-link",
            f"A row belongs to one organisation, but {entity.name!r} has {len(links)} "
            f"required links to {links[0].target!r}: make all but one required: false.",
        )
    for operation in ("read", "create", "update", "delete"):
        rule = getattr(entity.access, operation)
        if rule not in TENANT_RULES:
            continue
        rule_path = f"{path}.access.{operation}"
        if organization is None:
            yield Problem(
                rule_path,
                "needs-organizations",
                f"{rule!r} means a member of the row's organisation: add 'organizations' to "
                "features and mark an entity 'organization: true', or use 'owner'.",
            )
        elif entity is not organization and not links:
            yield Problem(
                rule_path,
                "needs-tenant-link",
                f"{rule!r} reads the row's organisation: give {entity.name!r} a required "
                f"link to it, {{name: {names_for(organization.name).snake}, target: "
                f"{organization.name}, required: true}}.",
            )
