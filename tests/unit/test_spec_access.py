"""Access rules in specs: safe defaults, what needs auth, warnings, and the templates' policies."""

from __future__ import annotations

from typing import Any

import pytest

from appbuilder.enums import ProjectTemplate
from appbuilder.errors import SpecError
from appbuilder.services.builds import spec_schema, spec_warnings
from appbuilder.spec.loading import build_spec
from appbuilder.spec.resolved import Access, AppModel
from appbuilder.spec.validation import resolve

PERSONAL = Access(read="owner", create="signed_in", update="owner", delete="owner")
SHARED = Access(read="public", create="signed_in", update="owner", delete="owner")
OWNER = Access(read="owner", create="owner", update="owner", delete="owner")
CATALOGUE = Access(read="public", create="admin", update="admin", delete="admin")


def model(*entities: dict[str, Any], features: tuple[str, ...] = ("auth",)) -> AppModel:
    data = {"name": "Rules", "entities": list(entities), "features": list(features)}
    return resolve(build_spec(data, template=ProjectTemplate.CUSTOM))


def problems(
    *entities: dict[str, Any], features: tuple[str, ...] = ("auth",)
) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as raised:
        model(*entities, features=features)
    return [(path, rule) for path, rule, _ in raised.value.problems]


PERSON = {"name": "Person", "fields": [{"name": "name"}, {"name": "email", "type": "email"}]}
NOTE = {"name": "Note", "fields": [{"name": "title"}]}


def test_entities_holding_peoples_data_default_to_owner_for_everything() -> None:
    pet = {
        "name": "Pet",
        "fields": [{"name": "name"}],
        "relations": [{"name": "person", "target": "Person"}],
    }
    toy = {
        "name": "Toy",
        "fields": [{"name": "name"}],
        "relations": [{"name": "pet", "target": "Pet"}],
    }
    app = model(PERSON, pet, toy, NOTE)
    for name in ("Person", "Pet", "Toy"):  # an email field, or a link to one, however far
        assert app.entity(name).access == PERSONAL
    assert app.entity("Note").access == SHARED


def test_rules_the_spec_gives_win_and_the_rest_take_the_default() -> None:
    note = {**NOTE, "access": {"read": "signed_in", "delete": "admin"}}
    access = model(note).entity("Note").access
    assert access == Access(read="signed_in", create="signed_in", update="owner", delete="admin")


def test_without_auth_everything_is_public_and_asking_for_more_is_refused() -> None:
    assert model(PERSON, features=()).entity("Person").access == Access()
    closed = {**NOTE, "access": {"read": "owner", "create": "public"}}
    assert problems(closed, features=()) == [("entities.Note.access.read", "needs-auth")]
    flagged = {
        "name": "Note",
        "fields": [
            {"name": "title", "private": True},
            {"name": "n", "type": "integer", "default": 0, "readonly": True},
        ],
    }
    assert problems(flagged, features=()) == [
        ("entities.Note.fields.title.private", "needs-auth"),
        ("entities.Note.fields.n.readonly", "needs-auth"),
    ]


def test_admin_and_api_keys_bring_auth_and_so_the_safe_defaults() -> None:
    assert model(PERSON, features=("admin",)).entity("Person").access == PERSONAL
    assert model(PERSON, features=("api_keys",)).entity("Person").access == PERSONAL


def test_a_readonly_field_needs_a_value_others_can_create_rows_with() -> None:
    field = {"name": "status", "type": "enum", "values": ["new", "done"], "readonly": True}
    entity = {"name": "Task", "fields": [{"name": "title"}, field]}
    assert problems(entity) == [("entities.Task.fields.status.readonly", "readonly-required")]
    with_default = {**entity, "fields": [{"name": "title"}, {**field, "default": "new"}]}
    assert model(with_default).entity("Task").fields[1].readonly
    optional = {**entity, "fields": [{"name": "title"}, {**field, "required": False}]}
    assert model(optional).entity("Task").fields[1].readonly
    code = {"name": "code", "type": "integer", "default": 1, "unique": True, "readonly": True}
    clashing = {"name": "Task", "fields": [{"name": "title"}, code]}
    assert problems(clashing) == [("entities.Task.fields.code.readonly", "readonly-unique-default")]


def test_private_fields_are_never_searched_sorted_or_a_rows_name() -> None:
    person = {
        "name": "Person",
        "fields": [{"name": "email", "type": "email", "private": True}, {"name": "nickname"}],
    }
    entity = model(person).entity("Person")
    assert [f.names.snake for f in entity.private_fields] == ["email"]
    assert [f.names.snake for f in entity.searchable] == ["nickname"]
    assert entity.title_field is not None
    assert entity.title_field.names.snake == "nickname"


def test_publicly_readable_email_addresses_are_a_warning_not_an_error() -> None:
    public = {**PERSON, "access": {"read": "public"}}
    warned = [(p.path, p.rule) for p in spec_warnings(model(public))]
    assert warned == [("entities.Person.fields.email", "public-email")]
    assert spec_warnings(model(PERSON)) == []  # owner-only by default
    private = {
        **public,
        "fields": [{"name": "name"}, {"name": "email", "type": "email", "private": True}],
    }
    assert spec_warnings(model(private)) == []
    assert [p.rule for p in spec_warnings(model(PERSON, features=()))] == ["public-email"]


def test_links_to_rows_that_belong_to_someone_are_ownership_bearing() -> None:
    assert PERSONAL.ownership_bearing
    assert not PERSONAL.linkable_when_shared
    assert not SHARED.ownership_bearing
    assert SHARED.linkable_when_shared
    assert Access(read="signed_in", update="owner").ownership_bearing
    assert not CATALOGUE.ownership_bearing


def test_public_rows_standing_for_a_person_are_ownership_bearing_others_shared() -> None:
    """A blog post may name only its poster's own author; a comment may be on anyone's post."""
    blog = preset_model(ProjectTemplate.BLOG)
    author, post = blog.entity("Author"), blog.entity("Post")
    assert author.access.read == "public"
    assert author.stands_for_a_person
    assert author.ownership_bearing
    assert not author.linkable_when_shared
    assert not post.ownership_bearing
    assert post.linkable_when_shared
    assert not blog.entity("Tag").ownership_bearing
    listed = {**PERSON, "access": {"read": "public", "update": "admin"}}
    assert not model(listed).entity("Person").ownership_bearing  # no one's to claim


def test_the_json_schema_describes_access_private_and_readonly() -> None:
    definitions = spec_schema()["$defs"]
    assert set(definitions["AccessSpec"]["properties"]) == {"read", "create", "update", "delete"}
    assert {"private", "readonly"} <= set(definitions["FieldSpec"]["properties"])
    assert "access" in definitions["EntitySpec"]["properties"]


def preset_model(template: ProjectTemplate) -> AppModel:
    return resolve(build_spec({}, template=template))


def test_ecommerce_keeps_the_catalogue_to_admins_and_orders_to_their_owners() -> None:
    shop = preset_model(ProjectTemplate.ECOMMERCE)
    for name in ("Product", "Category"):
        assert shop.entity(name).access == CATALOGUE
    for name in ("Customer", "Cart", "CartItem", "CustomerOrder", "OrderItem"):
        assert shop.entity(name).access == OWNER
    status = next(f for f in shop.entity("CustomerOrder").fields if f.names.snake == "status")
    assert status.readonly
    assert shop.user_creatable == {"Customer", "Cart", "CartItem", "CustomerOrder", "OrderItem"}
    assert spec_warnings(shop) == []


def test_blog_posts_and_comments_are_public_to_read_and_author_emails_private() -> None:
    blog = preset_model(ProjectTemplate.BLOG)
    for name in ("Post", "Comment", "Author"):
        assert blog.entity(name).access == SHARED
    assert [f.names.snake for f in blog.entity("Author").private_fields] == ["email"]
    assert spec_warnings(blog) == []


@pytest.mark.parametrize(
    "template", [t for t in ProjectTemplate if t is not ProjectTemplate.CUSTOM]
)
def test_no_template_publishes_email_addresses(template: ProjectTemplate) -> None:
    assert spec_warnings(preset_model(template)) == []
