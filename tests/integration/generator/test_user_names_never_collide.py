"""A user's field names never collide with what the generated code calls its own things.

Every identifier the generated list path binds or reads (parameters, locals, helpers and
imports of the routers, services, schemas and shared modules) is drawn as the name of a
yes/no field, which becomes a list filter, an attribute and a JSON key. Names refused for
reasons of their own (keywords, SQL words, model attributes) are left out; every other one
must be accepted and the app's own suite must pass with it.
"""

from __future__ import annotations

import ast
from typing import Any

from appbuilder.agents.orchestrator import Orchestrator
from appbuilder.enums import ProjectTemplate
from appbuilder.spec.loading import build_spec
from appbuilder.spec.name_rules import refusal
from appbuilder.spec.validation import resolve
from appbuilder.stacks.fastapi.reserved import RESERVED
from tests.integration.generator.conftest import generate

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


def generated_names() -> list[str]:
    """Lower-case identifiers of the generated list path that a field may be called."""
    files = generate(ProjectTemplate.BLOG, verify=False).files
    names: set[str] = set()
    for path, content in files.items():
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


def test_generated_locals_and_helpers_as_field_names_work() -> None:
    names = generated_names()
    assert {"paginate", "service", "rows", "total", "items", "statement"} <= set(names)
    spec = build_spec(_spec(names))
    result = Orchestrator().generate(spec, resolve(spec))
    assert result.verification is not None
    assert result.succeeded, result.verification.failing_output
