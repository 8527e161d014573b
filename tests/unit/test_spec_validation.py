"""Bad specs from a table of tricky cases each give the expected path and rule."""

from __future__ import annotations

import json
from typing import Any

import pytest

from appbuilder.enums import ProjectTemplate
from appbuilder.errors import SpecError
from appbuilder.spec.loading import build_spec, merge_specs, preset
from appbuilder.spec.validation import resolve


def entity(
    name: str, *fields: Any, relations: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "fields": [f if isinstance(f, dict) else {"name": f} for f in fields],
        "relations": relations or [],
    }


def spec(*entities: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "Tricky", "entities": list(entities), **extra}


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as raised:
        resolve(build_spec(data, template=ProjectTemplate.CUSTOM))
    return [(path, rule) for path, rule, _ in raised.value.problems]


LINK = {"name": "author", "target": "Author"}

CASES: list[tuple[str, dict[str, Any], tuple[str, str]]] = [
    (
        "duplicate entity",
        spec(entity("Post", "a"), entity("Post", "b")),
        ("entities.Post", "duplicate"),
    ),
    (
        "same identifier",
        spec(entity("BlogPost", "a"), entity("blog_post", "b")),
        ("entities.blog_post", "same-identifier"),
    ),
    (
        "unknown target",
        spec(entity("Post", "title", relations=[LINK])),
        ("entities.Post.relations.author.target", "unknown-entity"),
    ),
    ("empty entity", spec(entity("Post")), ("entities.Post.fields", "empty-entity")),
    ("no entities", spec(), ("entities", "required")),
    ("badly formed name", spec(entity("1st Post", "a")), ("entities.1st Post", "name-format")),
    ("no ascii spelling", spec(entity("Книга", "a")), ("entities.Книга", "name-format")),
    (
        "field that is a row's own key",
        spec(entity("Post", "title", "created at")),
        ("entities.Post.fields.created at", "reserved-word"),
    ),
    (
        "link named like a keyword",
        spec(entity("Post", "title", relations=[{"name": "from", "target": "Post"}])),
        ("entities.Post.relations.from", "reserved-word"),
    ),
    (
        "field taken by routes",
        spec(entity("Post", "sort")),
        ("entities.Post.fields.sort", "reserved-word"),
    ),
    (
        "field same identifier",
        spec(entity("Post", "title", "Title")),
        ("entities.Post.fields.Title", "same-identifier"),
    ),
    (
        "enum without values",
        spec(entity("Post", {"name": "state", "type": "enum"})),
        ("entities.Post.fields.state.values", "required"),
    ),
    (
        "enum duplicate values",
        spec(entity("Post", {"name": "state", "type": "enum", "values": ["a", "a"]})),
        ("entities.Post.fields.state.values", "duplicate"),
    ),
    (
        "default of wrong type",
        spec(entity("Post", {"name": "stock", "type": "integer", "default": "many"})),
        ("entities.Post.fields.stock.default", "type"),
    ),
    (
        "bool default for integer",
        spec(entity("Post", {"name": "stock", "type": "integer", "default": True})),
        ("entities.Post.fields.stock.default", "type"),
    ),
    (
        "enum default not a value",
        spec(entity("Post", {"name": "state", "type": "enum", "values": ["a"], "default": "b"})),
        ("entities.Post.fields.state.default", "enum-value"),
    ),
    (
        "json default not an object or list",
        spec(entity("Post", {"name": "blob", "type": "json", "default": "x"})),
        ("entities.Post.fields.blob.default", "type"),
    ),
    (
        "json default with NaN",
        spec(entity("Post", {"name": "blob", "type": "json", "default": {"x": float("nan")}})),
        ("entities.Post.fields.blob.default", "default-value"),
    ),
    (
        "date default other than today",
        spec(entity("Post", {"name": "due", "type": "date", "default": "2024-01-01"})),
        ("entities.Post.fields.due.default", "default-value"),
    ),
    (
        "datetime default other than now",
        spec(entity("Post", {"name": "at", "type": "datetime", "default": "today"})),
        ("entities.Post.fields.at.default", "default-value"),
    ),
    (
        "today with a bound",
        spec(
            entity("Post", {"name": "due", "type": "date", "default": "today", "max": "2030-01-01"})
        ),
        ("entities.Post.fields.due.default", "default-value"),
    ),
    (
        "max_length on integer",
        spec(entity("Post", {"name": "stock", "type": "integer", "max_length": 3})),
        ("entities.Post.fields.stock.max_length", "not-applicable"),
    ),
    (
        "unique text",
        spec(entity("Post", {"name": "body", "type": "text", "unique": True})),
        ("entities.Post.fields.body.unique", "not-applicable"),
    ),
    (
        "required but set null",
        spec(
            entity("Author", "name"),
            entity(
                "Post", "title", relations=[{**LINK, "required": True, "on_delete": "set_null"}]
            ),
        ),
        ("entities.Post.relations.author.on_delete", "contradiction"),
    ),
    (
        "required self link",
        spec(
            entity(
                "Node", "name", relations=[{"name": "parent", "target": "Node", "required": True}]
            )
        ),
        ("entities.Node.relations.parent.required", "self-required"),
    ),
    (
        "cycle of required links",
        spec(
            entity("Egg", "a", relations=[{"name": "hen", "target": "Hen", "required": True}]),
            entity("Hen", "b", relations=[{"name": "egg", "target": "Egg", "required": True}]),
        ),
        ("entities.Egg.relations", "relation-cycle"),
    ),
    (
        "link column clash",
        spec(entity("Author", "name"), entity("Post", "author_id", relations=[LINK])),
        ("entities.Post.relations.author", "same-identifier"),
    ),
    (
        "inverse clash",
        spec(entity("Author", "name", "posts"), entity("Post", "title", relations=[LINK])),
        ("entities.Author", "same-identifier"),
    ),
    (
        "too many entities",
        spec(*(entity(f"Thing {chr(65 + i // 26)}{chr(65 + i % 26)}", "a") for i in range(31))),
        ("entities", "max-count"),
    ),
    ("bad slug", spec(entity("Post", "a"), slug="My App!"), ("slug", "slug-format")),
    (
        "unknown field type",
        spec(entity("Post", {"name": "price", "type": "money"})),
        ("entities.Post.fields.price.type", "enum"),
    ),
    (
        "unknown key",
        spec(entity("Post", {"name": "price", "colour": "red"})),
        ("entities.Post.fields.price.colour", "extra_forbidden"),
    ),
    (
        "unknown feature",
        spec(entity("Post", "a"), features=["chat"]),
        ("features['chat']", "literal_error"),
    ),
    (
        "label with a quote",
        spec(entity("Post", {"name": "title", "label": 'Say "hi"'})),
        ("entities.Post.fields.title.label", "string_pattern_mismatch"),
    ),
    (
        "label with braces",
        spec({**entity("Post", "a"), "label": "{{ x }}"}),
        ("entities.Post.label", "string_pattern_mismatch"),
    ),
    (
        "enum value with markup",
        spec(entity("Post", {"name": "state", "type": "enum", "values": ["<b>"]})),
        ("entities.Post.fields.state.values['<b>']", "string_pattern_mismatch"),
    ),
    (
        "checkout amount not decimal",
        spec(
            {
                **entity("Bill", {"name": "total", "type": "integer"}),
                "checkout": {"amount_field": "total"},
            }
        ),
        ("entities.Bill.checkout.amount_field", "required-decimal"),
    ),
    (
        "checkout paid value unknown",
        spec(
            {
                **entity(
                    "Bill",
                    {"name": "total", "type": "decimal"},
                    {"name": "state", "type": "enum", "values": ["open"], "default": "open"},
                ),
                "checkout": {"amount_field": "total", "status_field": "state"},
            }
        ),
        ("entities.Bill.checkout.paid_value", "enum-value"),
    ),
    (
        "checkout status without unpaid default",
        spec(
            {
                **entity(
                    "Bill",
                    {"name": "total", "type": "decimal"},
                    {"name": "state", "type": "enum", "values": ["open", "paid"]},
                ),
                "checkout": {"amount_field": "total", "status_field": "state"},
            }
        ),
        ("entities.Bill.checkout.status_field", "unpaid-default"),
    ),
    (
        "checkout status starting closed",
        spec(
            {
                **entity(
                    "Bill",
                    {"name": "total", "type": "decimal"},
                    {
                        "name": "state",
                        "type": "enum",
                        "values": ["paid", "open"],
                        "default": "open",
                    },
                ),
                "checkout": {"amount_field": "total", "status_field": "state"},
            }
        ),
        ("entities.Bill.checkout.status_field", "unpaid-default"),
    ),
    (
        "decimal default with 3 places",
        spec(entity("Bill", {"name": "total", "type": "decimal", "default": 1.234})),
        ("entities.Bill.fields.total.default", "default-value"),
    ),
    (
        "integer default out of range",
        spec(entity("Bill", {"name": "count", "type": "integer", "default": 2**40})),
        ("entities.Bill.fields.count.default", "default-value"),
    ),
    (
        "url default with a script scheme",
        spec(entity("Bill", {"name": "site", "type": "url", "default": "javascript:alert(1)"})),
        ("entities.Bill.fields.site.default", "default-value"),
    ),
    (
        "same class name",
        spec(entity("Item2", "a"), entity("Item 2", "b")),
        ("entities.Item 2", "same-identifier"),
    ),
    (
        "same table name",
        spec(entity("Specie", "a"), entity("Species", "b")),
        ("entities.Species", "same-identifier"),
    ),
    (
        "bad inverse",
        spec(
            entity(
                "Team",
                "a",
                relations=[
                    {
                        "name": "players",
                        "kind": "one_to_many",
                        "target": "Player",
                        "inverse": "class",
                    }
                ],
            ),
            entity("Player", "b"),
        ),
        ("entities.Team.relations.players.inverse", "reserved-word"),
    ),
    (
        "name too long",
        spec(entity("P" * 41, "a")),
        (f"entities.{'P' * 41}.name", "string_too_long"),
    ),
    *(
        (
            f"linkable_if {why}",
            spec(
                entity(
                    "Product",
                    "name",
                    {"name": "active", "type": "boolean", "default": True},
                    {"name": "state", "type": "enum", "values": ["on", "off"], "default": "on"},
                    {"name": "secret", "type": "boolean", "default": True, "private": True},
                ),
                entity(
                    "Item",
                    "note",
                    relations=[{"name": "product", "target": "Product", **relation}],
                ),
                features=["auth"],
            ),
            (f"entities.Item.relations.product.linkable_if{where}", rule),
        )
        for why, relation, where, rule in [
            ("naming no field", {"linkable_if": {"colour": True}}, ".colour", "unknown-name"),
            ("on a text field", {"linkable_if": {"name": "x"}}, ".name", "wrong-type"),
            ("on a private field", {"linkable_if": {"secret": True}}, ".secret", "wrong-type"),
            (
                "boolean given a word",
                {"linkable_if": {"active": "yes"}},
                ".active",
                "invalid-value",
            ),
            ("enum value unknown", {"linkable_if": {"state": "gone"}}, ".state", "invalid-value"),
            ("enum given a boolean", {"linkable_if": {"state": True}}, ".state", "invalid-value"),
            ("empty", {"linkable_if": {}}, "", "too_short"),
            (
                "on one_to_many",
                {"kind": "one_to_many", "linkable_if": {"active": True}},
                "",
                "not-applicable",
            ),
        ]
    ),
]


@pytest.mark.parametrize(
    ("data", "expected"), [(d, e) for _, d, e in CASES], ids=[c[0] for c in CASES]
)
def test_bad_specs_name_the_path_and_rule(data: dict[str, Any], expected: tuple[str, str]) -> None:
    assert expected in problems(data)


def test_every_problem_is_reported_at_once() -> None:
    found = problems(spec(entity("Order", "class", "id"), entity("Post")))
    assert ("entities.Order.fields.id", "reserved-word") in found
    assert ("entities.Post.fields", "empty-entity") in found
    assert ("entities.Order.fields.class", "reserved-word") not in found


def test_the_message_names_each_problem_for_a_person() -> None:
    with pytest.raises(SpecError) as raised:
        resolve(build_spec(spec(entity("Order", "title", "sort")), template=ProjectTemplate.CUSTOM))
    assert "entities.Order.fields.sort" in raised.value.message
    assert "a key every row or list request already has" in raised.value.message
    assert "sort_value" in raised.value.message  # a way out


#: Words people reach for, each of which an app's own code also uses (an SQL word, a Python
#: keyword, a library's attribute, a class, module, table or URL of the app's own).
ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("sql word entities", spec(entity("Order", "title"), entity("Group", "name"))),
    ("keyword and shadowing entities", spec(entity("Class", "title"), entity("Type", "title"))),
    (
        "imported class names",
        spec(entity("Select", "a"), entity("Table", "b"), entity("Text", "c")),
    ),
    ("entities named like locals", spec(entity("Service", "a"), entity("Session", "b"))),
    ("module and URL names", spec(entity("Common", "a"), entity("Doc", "b"), entity("Date", "c"))),
    ("User beside auth", spec(entity("User", "title"), features=["auth"])),
    (
        "feature models",
        spec(entity("Api Key", "x"), entity("Upload", "y"), features=["api_keys", "file_uploads"]),
    ),
    ("keyword fields", spec(entity("Post", "class", "from", "import", "def", "None"))),
    ("sql word fields", spec(entity("Post", "select", "order", "type", "group", "user"))),
    (
        "library attribute fields",
        spec(entity("Post", "metadata", "model_config", "registry", "json", "query")),
    ),
    (
        "type-named fields",
        spec(
            entity(
                "Bill",
                "title",
                {"name": "bool", "type": "boolean"},
                {"name": "date", "type": "date"},
            )
        ),
    ),
]


@pytest.mark.parametrize(("why", "data"), ACCEPTED, ids=[w for w, _ in ACCEPTED])
def test_names_people_use_are_accepted(why: str, data: dict[str, Any]) -> None:
    resolve(build_spec(data, template=ProjectTemplate.CUSTOM))


def test_a_cycle_with_an_optional_link_is_created_first_and_linked_later() -> None:
    data = spec(
        entity("Department", "name", relations=[{"name": "head", "target": "Employee"}]),
        entity(
            "Employee",
            "name",
            relations=[{"name": "department", "target": "Department", "required": True}],
        ),
        entity(
            "Person",
            "name",
            relations=[{"name": "friends", "kind": "many_to_many", "target": "Person"}],
        ),
    )
    model = resolve(build_spec(data, template=ProjectTemplate.CUSTOM))
    assert [e.names.pascal for e in model.entities] == ["Person", "Department", "Employee"]
    [head] = model.entity("Department").links
    [department] = model.entity("Employee").links
    assert (head.deferred, head.on_delete.value, head.constraint) == (
        True,
        "set_null",
        "fk_departments_head_id_employees",
    )
    assert not department.deferred
    [friends] = model.entity("Person").many
    assert (friends.to_itself, friends.owner_column, friends.target_column) == (
        True,
        "person_id",
        "friends_id",
    )


def test_renamed_entities_keep_the_user_s_words_where_clients_see_them() -> None:
    model = resolve(
        build_spec(
            spec(entity("User", "title"), entity("Doc", "t")), template=ProjectTemplate.CUSTOM
        )
    )
    user, doc = (model.entity(p).names for p in ("UserRecord", "DocRecord"))
    assert (user.plural_snake, user.kebab_plural, user.label) == ("user_records", "users", "User")
    assert (doc.plural_snake, doc.kebab_plural, doc.label) == ("doc_records", "doc-records", "Doc")


def test_keyword_fields_are_attributes_apart_from_their_key() -> None:
    model = resolve(
        build_spec(spec(entity("Post", "from", "order")), template=ProjectTemplate.CUSTOM)
    )
    source, order = model.entity("Post").fields
    assert (source.names.snake, source.names.key, source.names.aliased) == ("from_", "from", True)
    assert (order.names.snake, order.names.key, order.names.aliased) == ("order", "order", False)


@pytest.mark.parametrize(
    "template", [t for t in ProjectTemplate if t is not ProjectTemplate.CUSTOM]
)
def test_every_preset_is_valid(template: ProjectTemplate) -> None:
    model = resolve(build_spec(template=template))
    assert model.template is template
    assert model.entities


def test_a_users_spec_extends_and_overrides_its_template() -> None:
    extra = {
        "name": "My blog",
        "features": ["email"],
        "entities": [
            {"name": "Post", "fields": [{"name": "title", "max_length": 80}, {"name": "summary"}]},
            {"name": "Series", "fields": [{"name": "title"}]},
        ],
    }
    model = resolve(build_spec(extra, template=ProjectTemplate.BLOG))
    post = model.entity("Post")
    title = next(f for f in post.fields if f.names.snake == "title")
    assert title.max_length == 80
    assert [f.names.snake for f in post.fields][-1] == "summary"
    assert "body" in [f.names.snake for f in post.fields]  # kept from the preset
    assert {"Series", "Author", "Tag", "Comment"} <= {e.names.pascal for e in model.entities}
    assert {"email", "rss", "auth"} <= model.features
    assert model.integrations.smtp  # email implies SMTP


def test_features_imply_what_they_need() -> None:
    model = resolve(build_spec(spec(entity("Note", "text"), features=["api_keys", "payments"])))
    assert {"auth", "api_keys", "payments"} <= model.features
    assert model.integrations.stripe
    tagged = resolve(build_spec(spec(entity("Note", "title"), features=["tags", "comments"])))
    note = tagged.entity("Note")
    assert [m.names.snake for m in note.many] == ["tags"]
    assert tagged.entity("Comment").added_by_feature == "comments"
    assert [c.inverse.snake for c in note.children] == ["comments"]


def test_one_to_many_is_the_same_link_seen_from_the_parent() -> None:
    data = spec(
        entity(
            "Team",
            "name",
            relations=[
                {"name": "players", "kind": "one_to_many", "target": "Player", "inverse": "club"}
            ],
        ),
        entity("Player", "name"),
    )
    model = resolve(build_spec(data))
    link = model.entity("Player").links[0]
    assert (link.names.snake, link.target, link.inverse.snake) == ("club", "Team", "players")
    assert [e.names.pascal for e in model.entities] == ["Team", "Player"]


def test_one_to_many_links_take_their_on_delete() -> None:
    relation = {
        "name": "players",
        "kind": "one_to_many",
        "target": "Player",
        "on_delete": "cascade",
    }
    model = resolve(
        build_spec(spec(entity("Team", "name", relations=[relation]), entity("Player", "name")))
    )
    assert model.entity("Player").links[0].on_delete.value == "cascade"


def test_entities_come_in_creation_order_whatever_the_declared_order() -> None:
    data = spec(
        entity(
            "Line", "qty", relations=[{"name": "invoice", "target": "Invoice", "required": True}]
        ),
        entity("Invoice", "number", relations=[{"name": "client", "target": "Client"}]),
        entity("Client", "name"),
    )
    assert [e.names.pascal for e in resolve(build_spec(data)).entities] == [
        "Client",
        "Invoice",
        "Line",
    ]


def test_names_that_only_look_reserved_are_accepted() -> None:
    names = ["Account", "Email", "Page", "Template", "Key", "Match", "Payment", "Upload"]
    model = resolve(build_spec(spec(*(entity(name, "title") for name in names))))
    assert len(model.entities) == len(names)


def test_labels_in_other_scripts_are_used_as_they_are() -> None:
    model = resolve(build_spec(spec({**entity("Order line", "title"), "label": "Заказ"})))
    assert (model.entities[0].names.label, model.entities[0].names.plural_label) == (
        "Заказ",
        "Заказ",
    )


def test_names_are_normalised_once() -> None:
    model = resolve(build_spec(spec(entity("order line", "unit price"))))
    names = model.entities[0].names
    assert (names.pascal, names.snake, names.plural_snake, names.kebab_plural) == (
        "OrderLine",
        "order_line",
        "order_lines",
        "order-lines",
    )
    assert (names.label, names.plural_label) == ("Order line", "Order lines")
    assert model.entities[0].fields[0].names.label == "Unit price"
    assert model.slug == "tricky"


def test_the_same_spec_written_differently_hashes_the_same() -> None:
    first = build_spec(spec(entity("Post", "title")))
    second = build_spec(
        {"entities": [{"fields": [{"name": "title"}], "name": "Post"}], "name": "Tricky"}
    )
    assert resolve(first).spec_hash == resolve(second).spec_hash


def test_merge_keeps_unnamed_items_and_merges_named_ones() -> None:
    merged = merge_specs(
        preset(ProjectTemplate.API), {"entities": [{"name": "item", "label": "Thing"}]}
    )
    item = next(e for e in merged["entities"] if e["name"].lower() == "item")
    assert item["label"] == "Thing"
    assert item["fields"]  # kept


def test_unknown_keys_name_the_allowed_ones() -> None:
    data = spec(
        entity("Post", "title", relations=[{"name": "x", "type": "many_to_many", "target": "Post"}])
    )
    with pytest.raises(SpecError) as raised:
        build_spec(data)
    assert "allowed here: name, kind, target" in raised.value.message


def test_a_template_flag_that_contradicts_the_spec_is_an_error() -> None:
    with pytest.raises(SpecError) as raised:
        build_spec({"template": "blog"}, template=ProjectTemplate.API)
    assert raised.value.problems[0][:2] == ("template", "conflict")


def test_changing_a_preset_fields_type_drops_the_old_types_settings() -> None:
    data = {"entities": [{"name": "Post", "fields": [{"name": "title", "type": "integer"}]}]}
    model = resolve(build_spec(data, template=ProjectTemplate.BLOG))
    title = next(f for f in model.entity("Post").fields if f.names.snake == "title")
    assert (title.type.value, title.max_length) == ("integer", None)


def test_a_template_feature_can_be_left_out() -> None:
    data = {"without_features": ["comments", "rss"]}
    model = resolve(build_spec(data, template=ProjectTemplate.BLOG))
    assert not {"comments", "rss"} & model.features
    assert "Comment" not in {e.names.pascal for e in model.entities}
    shop = resolve(
        build_spec(
            {
                "without_features": ["payments"],
                "entities": [{"name": "CustomerOrder", "checkout": None}],
            },
            template=ProjectTemplate.ECOMMERCE,
        )
    )
    assert "payments" not in shop.features
    assert not shop.integrations.stripe


def test_a_feature_another_one_needs_cannot_be_left_out() -> None:
    with pytest.raises(SpecError) as raised:
        resolve(build_spec({"without_features": ["auth"]}, template=ProjectTemplate.API))
    assert ("without_features", "needed") in [(p, r) for p, r, _ in raised.value.problems]


REFUSED: list[tuple[str, dict[str, Any]]] = [
    ("row key field", spec(entity("Post", "title", "updated at"))),
    ("list parameter field", spec(entity("Post", "title", "offset"))),
    (
        "keyword link",
        spec(entity("Post", "title", relations=[{"name": "class", "target": "Post"}])),
    ),
]


@pytest.mark.parametrize("name", ["service", "total", "paginate", "rows", "items", "statement"])
def test_filter_fields_named_like_the_generated_code_s_locals_are_accepted(name: str) -> None:
    """List filters are a query model's attributes, never locals: no name is taken there."""
    for kind in ({"type": "boolean"}, {"type": "enum", "values": ["a", "b"]}):
        data = spec(entity("Post", "title", {"name": name, **kind}))
        resolve(build_spec(data, template=ProjectTemplate.CUSTOM))


@pytest.mark.parametrize(("why", "data"), REFUSED, ids=[w for w, _ in REFUSED])
def test_every_refused_name_comes_with_a_suggestion_that_works(
    why: str, data: dict[str, Any]
) -> None:
    with pytest.raises(SpecError) as raised:
        resolve(build_spec(data, template=ProjectTemplate.CUSTOM))
    [problem] = raised.value.problems
    suggested = problem[2].split("try a longer name such as ")[1].split("'")[1]
    old = problem[0].split(".")[-1]  # the refused name is the path's last part
    renamed = json.loads(json.dumps(data).replace(f'"{old}"', f'"{suggested}"'))
    resolve(build_spec(renamed, template=ProjectTemplate.CUSTOM))


def test_problems_are_named_tuples() -> None:
    with pytest.raises(SpecError) as raised:
        resolve(build_spec(spec(entity("Post")), template=ProjectTemplate.CUSTOM))
    problem = raised.value.problems[0]
    assert (problem.path, problem.rule) == ("entities.Post.fields", "empty-entity")  # type: ignore[attr-defined]


def test_a_misspelt_key_gets_a_suggestion_and_its_block_is_checked_too() -> None:
    data = {
        "name": "Typo",
        "entities": [{"name": "Post", "feilds": [{"name": "title", "type": "strnig"}]}],
    }
    with pytest.raises(SpecError) as raised:
        build_spec(data, template=ProjectTemplate.CUSTOM)
    found = {(p[0], p[1]): p[2] for p in raised.value.problems}
    assert "did you mean 'fields'?" in found[("entities.Post.feilds", "extra_forbidden")]
    assert "inside 'feilds'" in found[("entities.Post.fields.title.type", "enum")]


def test_the_shop_links_orders_and_carts_only_to_active_products() -> None:
    """``linkable_if`` reaches the model (field names in snake case) for links and many links."""
    model = resolve(
        build_spec(preset(ProjectTemplate.ECOMMERCE), template=ProjectTemplate.ECOMMERCE)
    )
    for name in ("OrderItem", "CartItem"):
        (link,) = [link for link in model.entity(name).links if link.target == "Product"]
        assert link.linkable_if == (("active", True),)
    tagged = spec(
        entity("Tag", "name", {"name": "Is Live", "type": "boolean", "default": True}),
        entity(
            "Post",
            "title",
            relations=[
                {
                    "name": "tags",
                    "target": "Tag",
                    "kind": "many_to_many",
                    "linkable_if": {"Is Live": True},
                }
            ],
        ),
    )
    (many,) = resolve(build_spec(tagged, template=ProjectTemplate.CUSTOM)).entity("Post").many
    assert many.linkable_if == (("is_live", True),)


def test_an_order_is_closed_from_paid_on() -> None:
    """Statuses from ``paid_value`` on close a row for payment; the ones before stay open."""
    model = resolve(
        build_spec(preset(ProjectTemplate.ECOMMERCE), template=ProjectTemplate.ECOMMERCE)
    )
    checkout = model.entity("CustomerOrder").checkout
    assert checkout is not None
    assert checkout.closed_values == ("paid", "shipped", "cancelled")
