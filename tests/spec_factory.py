"""Random valid AppSpecs, from a seeded ``random.Random``: shared by the property tests
(hypothesis draws the seed) and the success-rate benchmark (seeds 0..N)."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from appbuilder.spec.features import FEATURES
from appbuilder.spec.names import names_for

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
    # names people use that the generated code also uses (SQL words, the app's own classes)
    "Order",
    "Group",
    "Service",
    "User",
    "Type",
    "Class",
    "Select",
    "Table",
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
    # SQL words, Python keywords and library attributes: attributes apart from their key
    "type",
    "from",
    "order",
    "class",
    "import",
    "def",
    "None",
    "metadata",
    "model_config",
    "registry",
    "query",
    "json",
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
            [
                "Número",
                "Größe (cm)",
                "Due date",
                "Заметка",
                "A/B group",
                "Customer's note",
                "Owner\u2019s pick",
                *ASTRAL_LETTERS,
            ]
        )
    if kind == "enum" and rng.random() < 0.3:
        field["values"] = [*field["values"], rng.choice(ASTRAL_LETTERS)]
    if rng.random() < 0.4 and field.get("default") not in ("today", "now"):
        field.update(_value_rules(rng, field))
    return field


PATTERNS = [r"[A-Z]{2,4}-[0-9]{1,4}", r"[a-z][a-z0-9_]{0,10}", r"(red|green|blue)( [0-9]{1,3})?"]


def _value_rules(rng: random.Random, field: dict[str, Any]) -> dict[str, Any]:
    """min/max around any default, min_length and pattern where the field's values allow."""
    kind, default = field["type"], field.get("default")
    rules: dict[str, Any] = {}
    if kind in {"integer", "decimal"}:
        rules.update(_number_bounds(rng, field))
    elif kind in {"date", "datetime"}:
        day, time = rng.choice([("2020-01-01", "T00:00:00Z"), ("1999-12-31", "T23:30:00+02:00")])
        rules["min" if rng.random() < 0.5 else "max"] = day + (time if kind == "datetime" else "")
        if rng.random() < 0.5:
            rules["max" if "min" in rules else "min"] = "2100-01-01" + (
                "T00:00:00Z" if kind == "datetime" else ""
            )
            rules["min"], rules["max"] = sorted([rules["min"], rules["max"]])
    elif kind in {"string", "text"} and default is None:
        longest = field.get("max_length", 200)
        if longest >= 12 and rng.random() < 0.6:
            rules["pattern"] = rng.choice(PATTERNS)
        elif longest >= 3:
            rules["min_length"] = rng.randint(1, 3)
    return rules


def _number_bounds(rng: random.Random, field: dict[str, Any]) -> dict[str, Any]:
    kind, default = field["type"], field.get("default")
    rules: dict[str, Any] = {}
    centre = default if default is not None else rng.choice([-5, 0, 1])
    if kind == "decimal":
        centre = Decimal(str(centre))
    if rng.random() < 0.7:
        rules["min"] = centre - rng.choice([0, 1, 10])
    if rng.random() < 0.7:
        rules["max"] = centre + rng.choice([0, 5, 10**6]) if not field.get("unique") else 10**6
    if kind == "decimal" and "min" in rules and rng.random() < 0.5:
        rules["min"] -= Decimal("0.25")
    return rules


def _computed(rng: random.Random, entities: list[dict[str, Any]]) -> None:
    """Aggregates on parents over their children's numbers, and copies of a parent's field."""
    for child in entities:
        for relation in child["relations"]:
            parent = next((e for e in entities if e["name"] == relation["target"]), None)
            if (
                parent is None
                or parent is child
                or relation.get("kind", "many_to_one") != "many_to_one"
                or relation["name"] == "lead item"  # a link forward, maybe closing a cycle
            ):
                continue
            link = names_for(relation["name"]).key
            for other in child["relations"]:
                self_link = other["target"] == child["name"] and "kind" not in other
                if self_link and rng.random() < 0.5:
                    other["on_delete"] = "cascade"  # deleting a row takes its sub-rows along
            # (computed values read fields by attribute: the factory keeps to plain names)
            numbers = [
                f
                for f in child["fields"]
                if f["type"] in {"integer", "decimal"}
                and "computed" not in f
                and not names_for(f["name"]).aliased
            ]
            if rng.random() < 0.6:
                parent["fields"].append(
                    _aggregate(rng, names_for(child["name"]).plural_snake, numbers)
                )
            plain = [
                f
                for f in parent["fields"]
                if "computed" not in f
                and f["type"] != "json"
                and not names_for(f["name"]).aliased
                and f.get("default") not in ("today", "now")
            ]
            if plain and rng.random() < 0.4:
                source = rng.choice(plain)
                child["fields"].append(
                    {
                        "name": "copied value",
                        "type": source["type"],
                        "values": source.get("values", []),
                        "max_length": source.get("max_length"),
                        "required": False,
                        "computed": f"{link}.{names_for(source['name']).snake}",
                    }
                )
            return


def _aggregate(rng: random.Random, items: str, numbers: list[dict[str, Any]]) -> dict[str, Any]:
    if not numbers or rng.random() < 0.25:
        return {"name": "item count", "type": "integer", "computed": f"count({items})"}
    first, second = rng.choice(numbers), rng.choice(numbers)
    a, b = (f"{items}.{names_for(f['name']).snake}" for f in (first, second))
    function, expression = rng.choice(
        [("sum", a), ("sum", f"{a} + {b}"), ("max", a), ("min", f"{a} - 1"), ("sum", f"{a} / 2")]
    )
    return {
        "name": "item total",
        "type": "decimal",
        "required": function == "sum",
        "computed": f"{function}({expression})",
    }


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
        "date": ["today"],
        "datetime": ["now"],
        "json": [{"tags": [], "seen": False}, ["a", 1], {}, {"nested": {"n": 1.5}}],
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
    if rng.random() < 0.15:  # self-referencing many_to_many: a person's friends
        relations.append({"name": "peers", "kind": "many_to_many", "target": names[index]})
    later = names[index + 1 :]
    if later and rng.random() < 0.2:  # an optional link forward: a cycle if one links back
        relations.append({"name": "lead item", "target": rng.choice(later)})
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


ACCESS_RULES = ["public", "signed_in", "owner", "admin"]
#: Rules that read the row's organisation: only for the organisation and tenant entities.
TENANT_RULES = ["member", "org_admin"]


def _draw_tenancy(rng: random.Random, entities: list[dict[str, Any]]) -> None:
    """With organizations: the first entity holds them, some later ones belong to one (a
    required link to it, when nothing links the two yet: another link would rename the
    inverses the computed fields drawn before read). The organisation comes first, so its
    links forward to its tenant entities are optional ones: a required one is refused
    (``organization-requires-tenant-row``), and never drawn."""
    organization = entities[0]
    organization["organization"] = True
    for entity in entities[1:]:
        links = [r for r in entity["relations"] if r["target"] == organization["name"]]
        back = [r for r in organization["relations"] if r["target"] == entity["name"]]
        if any(r.get("required") and r.get("kind", "many_to_one") == "many_to_one" for r in links):
            entity["tenant"] = True
        elif not links and not back and rng.random() < 0.7:
            link = {"name": "organisation", "target": organization["name"], "required": True}
            entity["relations"].append(link)
            entity["tenant"] = True


def _draw_access(rng: random.Random, entities: list[dict[str, Any]]) -> None:
    """Access rules (some left to their defaults), private and readonly fields: auth apps only."""
    for entity in entities:
        scoped = entity.get("organization") or entity.pop("tenant", False)
        rules = ACCESS_RULES + TENANT_RULES if scoped else ACCESS_RULES
        if rng.random() < 0.6:
            operations = rng.sample(["read", "create", "update", "delete"], rng.randint(1, 4))
            entity["access"] = {operation: rng.choice(rules) for operation in operations}
            if entity.get("organization") and entity["access"].get("create") == "public":
                entity["access"]["create"] = "signed_in"  # its creator becomes its owner
        for field in entity["fields"]:
            if rng.random() < 0.15:
                field["private"] = True
            settable = not field.get("required", True) or "default" in field
            settable = settable and not (field.get("unique") and "default" in field)
            if settable and rng.random() < 0.2:
                field["readonly"] = True


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
    if rng.random() < 0.5:
        _computed(rng, entities)
    features = sorted(rng.sample(FEATURE_NAMES, rng.randint(0, 5)))
    integrations = {"s3": rng.random() < 0.2}
    if "organizations" in features:
        _draw_tenancy(rng, entities)
    if {"auth", "admin", "api_keys", "organizations"} & set(features):
        _draw_access(rng, entities)
    return {
        "name": f"Random app {rng.randint(0, 10**6)}",
        "description": rng.choice(["", "", *ASTRAL_TEXT]),
        "template": "CUSTOM",
        "pages": rng.random() < 0.8,
        "entities": entities,
        "features": features,
        "integrations": integrations,
    }
