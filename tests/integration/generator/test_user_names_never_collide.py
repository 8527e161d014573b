"""A user's names never collide with what the generated code calls its own things.

Every identifier the generated list path binds or reads (parameters, locals, helpers and
imports of the routers, services, schemas and shared modules) is drawn as the name of a
yes/no field, which becomes a list filter, an attribute and a JSON key. Names refused for
reasons of their own (a row's own keys, list parameters) are left out; every other one
must be accepted and the app's own suite must pass with it.

The same app holds the names people actually use (``PEOPLE``): entities ``Order``,
``Group``, ``User``, ``Service``, ``Type``, ``Class``, ``Select``, ``Table``; fields ``from``,
``class``, ``type``, ``order``, ``import``, ``def``, ``None``, ``metadata``, ``json``;
labels with apostrophes and letters beyond ASCII; ``today``/``now`` and JSON defaults; a
self-referencing many_to_many, a cycle of links with an optional one and computed values
over renamed fields, in an app of its own: the whole gate on SQLite in one test, the
gate's PostgreSQL step in another (together about 3 min of CPU; as one test, one worker
carried it alone for 221 s of CI's wall clock; in one app with the collisions the
PostgreSQL run passed the gate's time limit).
"""

from __future__ import annotations

import ast
from typing import Any

import pytest

from appbuilder.agents.orchestrator import GenerationResult, Orchestrator
from appbuilder.generator.verify import verify_tree
from appbuilder.spec.loading import build_spec
from appbuilder.spec.model import AppSpec
from appbuilder.spec.name_rules import refusal
from appbuilder.spec.resolved import AppModel
from appbuilder.spec.validation import resolve
from appbuilder.stacks.fastapi.reserved import RESERVED
from tests.integration.conftest import PG_URL, Backend

_SCANNED = ("app/routers/", "app/services/", "app/schemas/", "app/pagination.py", "app/rows.py")
_FEATURES = ("auth", "search")
_PER_ENTITY = 30  # with the closing fields, under the 40 fields an entity may have
#: Fields after the drawn ones, whose annotations and checks a drawn name must not shadow.
_CLOSING = (
    {"name": "closing title"},
    {"name": "closing text", "type": "text"},
    {"name": "closing email", "type": "email", "required": False},
    {"name": "closing site", "type": "url"},
    {"name": "closing data", "type": "json"},
    {"name": "closing at", "type": "datetime"},
    {"name": "closing amount", "type": "decimal"},
    {"name": "closing state", "type": "enum", "values": ["open", "shut"]},
)
#: The owner column auth adds: refused as a duplicate column, not for colliding with code.
_COLUMNS = {"owner_id"}


def _identifiers(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.FunctionDef):
            found.add(node.name)
        elif isinstance(node, ast.alias):
            found.add((node.asname or node.name).split(".")[0])
    return found


def generated_names(blog: GenerationResult) -> list[str]:
    """Lower-case identifiers of the generated list path that a field may be called."""
    names: set[str] = set()
    for path, content in blog.files.items():
        if path.startswith(_SCANNED) and path.endswith(".py"):
            names |= _identifiers(content.decode())
    return sorted(
        name
        for name in names
        if name.islower()
        and not name.startswith("_")
        and name not in _COLUMNS
        and refusal(name, "field", _FEATURES, RESERVED) is None
    )


#: Names people write and expect to work, with what the generator does for each.
PEOPLE: list[dict[str, Any]] = [
    {
        "name": "Order",  # SQL word: quoted
        "label": "Customer's order",
        "fields": [
            {"name": "title", "label": "Größe"},
            {"name": "from", "type": "date", "default": "today"},  # keyword: from_ / "from"
            {"name": "class", "type": "enum", "values": ["first", "second"], "default": "first"},
            {"name": "type", "type": "boolean", "required": False},
            {"name": "order", "type": "integer", "min": 0, "required": False},
            {"name": "import", "type": "text", "required": False, "label": "Owner\u2019s import"},
            {"name": "def", "unique": True, "required": False},
            {"name": "None", "type": "decimal", "required": False},
            {"name": "metadata", "type": "json", "default": {"tags": [], "seen": False}},
            {"name": "json", "type": "json", "required": False, "default": ["a"]},
            {"name": "logged at", "type": "datetime", "default": "now"},
        ],
        "relations": [
            {"name": "team", "target": "Group", "required": True},
            {"name": "buyer", "target": "User", "required": False},
            {"name": "kind", "target": "Type", "required": False},
        ],
    },
    {"name": "Group", "fields": [{"name": "name"}, {"name": "select", "required": False}]},
    # the app's accounts are User: the user's gets class UserRecord, URL /users
    {"name": "User", "fields": [{"name": "handle"}, {"name": "registry", "required": False}]},
    {"name": "Service", "fields": [{"name": "name"}, {"name": "model_config", "required": False}]},
    {"name": "Type", "fields": [{"name": "name"}, {"name": "query", "type": "integer"}]},
    {"name": "Class", "fields": [{"name": "name"}, {"name": "date", "type": "date"}]},
    {"name": "Select", "fields": [{"name": "name"}]},
    {"name": "Table", "fields": [{"name": "name"}]},
    {
        "name": "Department",
        "fields": [{"name": "name"}],
        "relations": [{"name": "head", "target": "Employee"}],  # optional: closes the cycle
    },
    {
        "name": "Employee",
        "fields": [{"name": "full name"}],
        "relations": [{"name": "department", "target": "Department", "required": True}],
    },
    {
        "name": "Person",
        "fields": [{"name": "name"}],
        "relations": [{"name": "friends", "kind": "many_to_many", "target": "Person"}],
    },
    # computed values name fields in the user's words, keywords too (``from``)
    {
        "name": "Basket",
        "fields": [
            {"name": "title"},
            {"name": "total", "type": "decimal", "computed": "sum(lines.json * lines.registry)"},
        ],
        "relations": [
            {"name": "lines", "kind": "one_to_many", "target": "Line", "inverse": "basket"}
        ],
    },
    {
        "name": "Line",
        "fields": [
            {"name": "json", "type": "integer"},
            {"name": "registry", "type": "decimal", "required": False, "computed": "product.from"},
        ],
        "relations": [{"name": "product", "target": "Product", "required": True}],
    },
    {"name": "Product", "fields": [{"name": "name"}, {"name": "from", "type": "decimal"}]},
]


def _spec(names: list[str]) -> dict[str, Any]:
    chunks = [names[i : i + _PER_ENTITY] for i in range(0, len(names), _PER_ENTITY)]
    entities = [
        {
            "name": f"Thing {chr(ord('a') + number)}",
            "fields": [
                *({"name": name, "type": "boolean", "required": False} for name in chunk),
                *_CLOSING,
            ],
        }
        for number, chunk in enumerate(chunks)
    ]
    return {"name": "Collisions", "features": list(_FEATURES), "entities": entities}


def test_generated_locals_and_helpers_as_field_names_work(
    unverified_blog: GenerationResult,
) -> None:
    names = generated_names(unverified_blog)
    assert {"paginate", "service", "rows", "total", "items", "statement"} <= set(names)
    spec = build_spec(_spec(names))
    result = Orchestrator().generate(spec, resolve(spec))
    assert result.verification is not None
    assert result.succeeded, result.verification.failing_output


def _people_spec() -> tuple[AppSpec, AppModel]:
    spec = build_spec({"name": "People's words", "features": list(_FEATURES), "entities": PEOPLE})
    return spec, resolve(spec)


def test_the_names_people_use_generate_a_verified_app() -> None:
    """The whole gate on SQLite; the PostgreSQL step is the next test, so the two run side
    by side on two workers instead of one worker carrying both."""
    spec, model = _people_spec()
    user = model.entity("UserRecord").names
    assert (user.plural_snake, user.kebab_plural, user.label) == ("user_records", "users", "User")
    result = Orchestrator().generate(spec, model)
    assert result.verification is not None
    assert result.succeeded, result.verification.failing_output
    files = result.files
    schema = files["app/schemas/order.py"].decode()
    assert (
        'from_: date = Field(default_factory=lambda: datetime.now(UTC).date(), alias="from")'
        in schema
    )
    assert '"from", Date()' in files["app/models.py"].decode()  # the column keeps the word
    assert 'prefix="/api/users"' in files["app/routers/user_record.py"].decode()
    assert "Customer\u2019s orders" in files["app/pages/common.py"].decode()


def test_the_names_people_use_pass_their_suite_on_postgresql(
    postgresql_backend: Backend, request: pytest.FixtureRequest
) -> None:
    """The gate's PostgreSQL step alone: migrations and the app's suite in a scratch database
    (quoted reserved words such as ``order``, ``from``, ``user`` as tables and columns)."""
    request.node.user_properties.append(("database", "postgresql"))
    assert PG_URL is not None  # postgresql_backend needs it
    spec, model = _people_spec()
    files = Orchestrator().generate(spec, model, verify=False).files
    result = verify_tree(files, checks=("postgresql",), database_url=PG_URL)
    assert [check.name for check in result.checks] == ["postgresql"]
    assert result.passed, result.failing_output
    assert result.tests_passed > 30
