"""Tenancy in specs: the organisation entity, tenant entities, member/org_admin rules, their
defaults and the problems that name what is missing; and the SAAS template's policy."""

from __future__ import annotations

from typing import Any

import pytest

from appbuilder.enums import ProjectTemplate
from appbuilder.errors import SpecError
from appbuilder.services.builds import spec_schema, spec_warnings
from appbuilder.spec.loading import build_spec
from appbuilder.spec.resolved import Access, AppModel
from appbuilder.spec.tenancy import MEMBERS, ORGANIZATION
from appbuilder.spec.validation import resolve

TEAM = {"name": "Team", "organization": True, "fields": [{"name": "name"}]}
LINK = {"name": "team", "target": "Team", "required": True}
DOC = {"name": "Page", "fields": [{"name": "title"}], "relations": [LINK]}
NOTE = {"name": "Note", "fields": [{"name": "title"}]}


def model(*entities: dict[str, Any], features: tuple[str, ...] = ("organizations",)) -> AppModel:
    data = {"name": "Teams", "entities": list(entities), "features": list(features)}
    return resolve(build_spec(data, template=ProjectTemplate.CUSTOM))


def problems(
    *entities: dict[str, Any], features: tuple[str, ...] = ("organizations",)
) -> list[tuple[str, str, str]]:
    with pytest.raises(SpecError) as raised:
        model(*entities, features=features)
    return list(raised.value.problems)


def rules(*entities: dict[str, Any], **kwargs: Any) -> list[tuple[str, str]]:
    return [(path, rule) for path, rule, _ in problems(*entities, **kwargs)]


def test_organizations_bring_auth_and_tenant_entities_default_to_members() -> None:
    app = model(TEAM, DOC, NOTE)
    assert app.has("auth")
    assert app.organization_name == "Team"
    assert app.entity("Team").tenant == "id"
    assert app.entity("Team").is_organization
    assert app.entity("Team").access == ORGANIZATION
    assert app.entity("Page").tenant == "team_id"
    assert app.entity("Page").access == MEMBERS
    assert [e.names.pascal for e in app.tenants] == ["Page"]
    assert app.entity("Note").tenant is None  # no link to a team: not scoped
    assert app.entity("Note").access.read == "public"


def test_an_optional_link_does_not_make_a_tenant_entity() -> None:
    loose = {**DOC, "relations": [{**LINK, "required": False}]}
    assert model(TEAM, loose).entity("Page").tenant is None


def test_rules_the_spec_gives_win_over_the_tenancy_defaults() -> None:
    doc = {**DOC, "access": {"delete": "org_admin"}}
    assert model(TEAM, doc).entity("Page").access == Access(
        read="member", create="member", update="member", delete="org_admin"
    )


def test_member_rules_need_the_feature_an_organisation_and_a_link_to_it() -> None:
    member_note = {**NOTE, "access": {"read": "member"}}
    found = problems(member_note, features=("auth",))
    assert [(p, r) for p, r, _ in found] == [("entities.Note.access.read", "needs-organizations")]
    assert "organization: true" in found[0][2]
    linkless = {**NOTE, "access": {"update": "org_admin"}}
    found = problems(TEAM, linkless)
    assert [(p, r) for p, r, _ in found] == [("entities.Note.access.update", "needs-tenant-link")]
    assert "{name: team, target: Team, required: true}" in found[0][2]  # the fix, spelled out


def test_one_organisation_entity_and_one_link_to_it() -> None:
    assert rules(NOTE) == [("features", "needs-organization")]
    other = {**TEAM, "name": "Club"}
    assert rules(TEAM, other) == [("entities.Club.organization", "one-organization")]
    unmarked = [("entities.Team.organization", "needs-organizations")]
    assert rules(TEAM, features=("auth",)) == unmarked
    anyone = {**TEAM, "access": {"create": "public"}}
    assert rules(anyone) == [("entities.Team.access.create", "organization-creator")]
    twice = {**DOC, "relations": [LINK, {**LINK, "name": "owner team"}]}
    assert rules(TEAM, twice) == [("entities.Page.relations.owner team", "one-tenant-link")]


def test_an_organisation_links_to_its_own_tenant_rows_only_optionally() -> None:
    """A tenant row needs its organisation first: requiring one would make a new
    organisation impossible to create; the optional link is fine, set later."""
    front_page = {"name": "front page", "target": "Page"}
    required = {**TEAM, "relations": [{**front_page, "required": True}]}
    found = problems(required, DOC)
    assert [(p, r) for p, r, _ in found] == [
        ("entities.Team.relations.front page", "organization-requires-tenant-row")
    ]
    assert "make 'front page' required: false" in found[0][2]
    optional = model({**TEAM, "relations": [front_page]}, DOC)
    assert optional.entity("Page").tenant == "team_id"
    pinned = {"name": "pinned", "target": "Note", "required": True}  # not a tenant: may be
    assert model({**TEAM, "relations": [pinned]}, NOTE).entity("Team").tenant == "id"


def test_the_features_tables_and_classes_are_reserved() -> None:
    for name in ("Membership", "Invitation"):
        taken = {"name": name, "fields": [{"name": "role"}]}
        assert rules(TEAM, taken) == [(f"entities.{name}", "reserved-word")]
        assert model(taken, features=("auth",)).entity(name)  # free without the feature


def test_the_json_schema_describes_organizations_and_the_new_rules() -> None:
    schema = spec_schema()
    definitions = schema["$defs"]
    assert "organization" in definitions["EntitySpec"]["properties"]
    read = definitions["AccessSpec"]["properties"]["read"]
    assert {"member", "org_admin"} <= set(read["anyOf"][0]["enum"])
    assert "organizations" in str(schema["properties"]["features"])


def test_saas_scopes_every_tenant_entity_to_its_organisation() -> None:
    saas = resolve(build_spec({}, template=ProjectTemplate.SAAS))
    assert saas.organization_name == "Organisation"
    assert saas.entity("Organisation").access == ORGANIZATION
    assert saas.entity("Project").access == Access(
        read="member", create="member", update="member", delete="org_admin"
    )
    assert saas.entity("Task").access == MEMBERS
    assert saas.entity("Subscription").access == Access(
        read="member", create="admin", update="admin", delete="admin"
    )
    assert saas.entity("Plan").access == Access(
        read="public", create="admin", update="admin", delete="admin"
    )
    assert {e.names.pascal for e in saas.tenants} == {"Project", "Task", "Subscription"}
    assert spec_warnings(saas) == []
