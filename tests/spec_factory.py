"""Random valid AppSpecs, from a seeded ``random.Random``: shared by the property tests
(hypothesis draws the seed) and the success-rate benchmark (seeds 0..N)."""

from __future__ import annotations

import random
from typing import Any

from appbuilder.spec.features import FEATURES

ENTITY_WORDS = [
    "Book",
    "Shelf",
    "Reader",
    "Invoice",
    "Ticket",
    "Venue",
    "Recipe",
    "Ingredient",
    "Project Task",
    "Garden Bed",
    "Plant",
    "Vehicle",
    "Driver",
    "Route Stop",
    "Patient Visit",
    "Lesson",
    "Course",
    "Student",
    "Quote",
    "Supplier",
    "Warehouse",
    "Shipment",
    "Album",
    "Track",
    "Playlist",
    # letters beyond ASCII: identifiers are derived in ASCII, labels keep the words
    "Café",
    "Größe Messung",
    # near PostgreSQL's 63-byte identifiers once spelled in snake case (40 characters)
    "QuarterlyRegionalPerformanceReviewRecord",
]
FIELD_WORDS = [
    "title",
    "summary",
    "notes",
    "rating",
    "amount",
    "active",
    "due on",
    "starts at",
    "contact email",
    "website",
    "status",
    "metadata blob",
    "code",
    "priority",
    "weight",
    "color",
    "nickname",
    "score",
    "level",
    "remarks",
    "prix à payer",
    "AVeryLongFieldNameThatGrowsInSnakeCase1",
]
#: Names the generated code uses for its own locals and helpers: a user's field may be
#: called any of them (they are attributes and keys there, never locals).
GENERATED_NAMES = [
    "paginate",
    "service",
    "rows",
    "total",
    "items",
    "statement",
    "filters",
    "headers",
    "no_nul",
    "commit",
    "linked",
    "get_or_404",
    "field_validator",
    "classmethod",
]
#: Free text beyond the Basic Multilingual Plane: emoji where any text goes, astral
#: letters where labels and enum values take letters only.
ASTRAL_TEXT = ["Party 🎉", "👩‍👩‍👧 family plan", "math \U0001d49c\U0001d4b7", "\U00020000 ideas"]
ASTRAL_LETTERS = ["\U0001d49c\U0001d4b7", "\U00020000\U00020001", "x\U0001d4af"]
TYPES = [
    "string",
    "text",
    "integer",
    "decimal",
    "boolean",
    "date",
    "datetime",
    "email",
    "url",
    "enum",
    "json",
]
UNIQUE_TYPES = {"string", "email", "url", "integer", "date"}
# Features that need no outside service in the generated tests' sandbox are all of them;
# payments/email/uploads bring their local fakes.
FEATURE_NAMES = sorted(FEATURES)


def _field(rng: random.Random, name: str) -> dict[str, Any]:
    kind = rng.choice(TYPES)
    field: dict[str, Any] = {"name": name, "type": kind, "required": rng.random() < 0.7}
    if kind in UNIQUE_TYPES and rng.random() < 0.2:
        field["unique"] = True
    if kind in {"string", "integer", "date", "boolean"} and rng.random() < 0.2:
        field["indexed"] = True
    if kind == "string" and rng.random() < 0.5:
        field["max_length"] = rng.choice([1, 3, 12, 80, 255])
    if kind == "enum":
        field["values"] = rng.sample(
            ["draft", "open", "closed", "on_hold", "archived"], rng.randint(1, 4)
        )
    field.update(_simple_default(rng, field))
    if rng.random() < 0.2:
        field.update(_more_default(rng, kind))
        if len(str(field.get("default", ""))) > field.get("max_length", 200):
            field["max_length"] = 80
    if rng.random() < 0.15:
        field["label"] = rng.choice(
            ["Número", "Größe (cm)", "Due date", "Заметка", "A/B group", *ASTRAL_LETTERS]
        )
    if kind == "enum" and rng.random() < 0.3:
        field["values"] = [*field["values"], rng.choice(ASTRAL_LETTERS)]
    return field


def _simple_default(rng: random.Random, field: dict[str, Any]) -> dict[str, Any]:
    if rng.random() < 0.5:
        return {}
    kind = field["type"]
    if kind == "enum":
        return {"default": field["values"][0]}
    if kind == "boolean":
        return {"default": rng.random() < 0.5}
    if kind == "integer":
        return {"default": rng.randint(-5, 5)}
    return {}


def _more_default(rng: random.Random, kind: str) -> dict[str, Any]:
    """Defaults of the kinds that are easy to get wrong in generated forms and schemas."""
    choices: dict[str, list[Any]] = {
        "decimal": [9.99, 0, 12345.5],
        "string": ["n/a", "draft 'one'"],
        "text": ["Multi\nline", "{{ not a template }}"],
        "email": ["someone@example.com"],
        "url": ["https://example.com/start"],
    }
    return {"default": rng.choice(choices[kind])} if kind in choices else {}


def _relations(rng: random.Random, index: int, names: list[str]) -> list[dict[str, Any]]:
    relations: list[dict[str, Any]] = []
    earlier = names[:index]
    if earlier and rng.random() < 0.7:
        target = rng.choice(earlier)
        required = rng.random() < 0.5
        relation: dict[str, Any] = {
            "name": f"parent {target}"[:40],
            "target": target,
            "required": required,
        }
        relation["on_delete"] = rng.choice(
            ["cascade", "restrict"] if required else ["cascade", "set_null", "restrict"]
        )
        relations.append(relation)
    if earlier and rng.random() < 0.3:
        relations.append(
            {"name": "linked items", "kind": "many_to_many", "target": rng.choice(earlier)}
        )
    if rng.random() < 0.15:
        relations.append({"name": "parent node", "target": names[index]})
    later = names[index + 1 :]
    if later and rng.random() < 0.2:
        relations.append(
            {
                "name": "owned items",
                "kind": "one_to_many",
                "target": rng.choice(later),
                "inverse": f"owner {index}",
            }
        )
    return relations


def random_spec(rng: random.Random) -> dict[str, Any]:
    """A valid spec: 1-4 entities with 1-5 fields, links only to earlier entities."""
    names = rng.sample(ENTITY_WORDS, rng.randint(1, 4))
    entities = []
    for index, name in enumerate(names):
        field_names = rng.sample(FIELD_WORDS, rng.randint(1, 5))
        if rng.random() < 0.3:
            field_names.append(rng.choice(GENERATED_NAMES))
        entity: dict[str, Any] = {
            "name": name,
            "fields": [_field(rng, field_name) for field_name in field_names],
            "relations": _relations(rng, index, names),
        }
        if rng.random() < 0.2:
            entity["description"] = rng.choice(ASTRAL_TEXT)
        if rng.random() < 0.1:
            entity["label"] = rng.choice(ASTRAL_LETTERS)
        entities.append(entity)
    features = sorted(rng.sample(FEATURE_NAMES, rng.randint(0, 5)))
    integrations = {"s3": rng.random() < 0.2}
    return {
        "name": f"Random app {rng.randint(0, 10**6)}",
        "description": rng.choice(["", "", *ASTRAL_TEXT]),
        "template": "CUSTOM",
        "pages": rng.random() < 0.8,
        "entities": entities,
        "features": features,
        "integrations": integrations,
    }
