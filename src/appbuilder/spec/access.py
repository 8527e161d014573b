"""Access rules: who may do what with an entity's rows, and which fields only some see.

Unset rules take safe defaults: entities that hold people's data (an email field, or a
many-to-one link, directly or through other links, to such an entity) are ``owner`` for
everything; others are readable by anyone, created by signed-in users and changed or
deleted by their owner. Without the auth feature there are no users, so every rule is
``public`` and asking for anything else is a problem. With organisations
(``spec.tenancy``), tenant entities default to ``member`` for everything. ``warnings``
lists what is allowed but probably not meant: email addresses anyone can read.
"""

from __future__ import annotations

from collections.abc import Iterable

from appbuilder.spec.model import AccessSpec, AppSpec, EntitySpec, FieldType
from appbuilder.spec.ordering import links_of
from appbuilder.spec.problems import Problem
from appbuilder.spec.resolved import Access, AppModel
from appbuilder.spec.tenancy import default_access

OPERATIONS = ("read", "create", "update", "delete")
#: Everything open: apps without auth have no one to tell apart.
OPEN = Access()
#: Entities holding people's data: only their owner (and admins).
PERSONAL = Access(read="owner", create="signed_in", update="owner", delete="owner")
#: Everything else: anyone reads, signed-in users add, owners change.
SHARED = Access(read="public", create="signed_in", update="owner", delete="owner")


def personal_entities(spec: AppSpec) -> set[str]:
    """Names of entities that hold people's data, directly or by linking to it."""
    personal = {e.name for e in spec.entities if any(f.type is FieldType.EMAIL for f in e.fields)}
    try:
        links = [(owner.name, target.name) for owner, _, target in links_of(spec)]
    except KeyError:  # an unknown target, reported by the relation rules
        return personal
    grown = True
    while grown:
        before = len(personal)
        personal |= {owner for owner, target in links if target in personal}
        grown = len(personal) > before
    return personal


def access_of(entity: EntitySpec, spec: AppSpec, personal: set[str]) -> Access:
    """The entity's rules: what the spec says, the safe default for the rest."""
    if "auth" not in spec.features:
        return OPEN
    default = default_access(entity, spec) or (PERSONAL if entity.name in personal else SHARED)
    said = entity.access
    return Access(
        read=said.read or default.read,
        create=said.create or default.create,
        update=said.update or default.update,
        delete=said.delete or default.delete,
    )


def check_access(path: str, entity: EntitySpec, spec: AppSpec) -> Iterable[Problem]:
    """Rules and field flags that need auth, and readonly fields nobody could fill."""
    auth = "auth" in spec.features
    if not auth:
        yield from _needs_auth(f"{path}.access", entity.access)
    for item in entity.fields:
        field_path = f"{path}.fields.{item.name}"
        for flag in ("private", "readonly"):
            if getattr(item, flag) and not auth:
                yield Problem(
                    f"{field_path}.{flag}",
                    "needs-auth",
                    f"A {flag} field needs the auth feature: without accounts there is no "
                    "owner or admin to tell apart.",
                )
        if item.readonly and item.required and item.default is None:
            yield Problem(
                f"{field_path}.readonly",
                "readonly-required",
                "Only admins may set a readonly field, so others could never create a row: "
                "give it a default or make it required: false.",
            )
        if item.readonly and item.unique and item.default is not None:
            yield Problem(
                f"{field_path}.readonly",
                "readonly-unique-default",
                "Rows others create all get the default of a readonly field, so a unique one "
                "would clash from the second row: drop the default, or unique.",
            )


def _needs_auth(path: str, access: AccessSpec) -> Iterable[Problem]:
    for operation in OPERATIONS:
        rule = getattr(access, operation)
        if rule not in (None, "public"):
            yield Problem(
                f"{path}.{operation}",
                "needs-auth",
                f"{rule!r} needs the auth feature (add 'auth' to features); "
                "without it every rule is 'public'.",
            )


def warnings(model: AppModel) -> list[Problem]:
    """Allowed but probably not meant: email addresses anyone may read."""
    found = []
    for entity in model.entities:
        if entity.access.read != "public":
            continue
        for item in entity.fields:
            if item.type is FieldType.EMAIL and not item.private:
                found.append(
                    Problem(
                        f"entities.{entity.names.pascal}.fields.{item.names.snake}",
                        "public-email",
                        "Anyone may read this email address: mark the field private: true "
                        "or set the entity's access.read to signed_in, owner or admin.",
                    )
                )
    return found
