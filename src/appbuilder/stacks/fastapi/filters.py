"""The FastAPI stack's Jinja filters: what its blueprints need to know about field types.

Each function maps a normalised field to a snippet of generated Python: a column, an
annotation, a sample value for the generated tests. Blueprints call them as filters, so
type knowledge lives here once instead of in ``if`` chains across many templates.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from markupsafe import escape

from appbuilder.spec.model import FieldType
from appbuilder.spec.resolved import AppField
from appbuilder.stacks.fastapi.computed_plan import computed_plan
from appbuilder.stacks.fastapi.rule_filters import (
    at_bounds,
    check_constraints,
    db_outside,
    has_rules,
    html_attrs,
    outside,
    ruled_sample,
    ruled_schema_type,
)
from appbuilder.stacks.fastapi.values import (
    DECIMAL_DIGITS,
    DECIMAL_PLACES,
    INT_MAX,
    INT_MIN,
    TEXT_LIMIT,
)

_PY = {
    FieldType.STRING: "str",
    FieldType.TEXT: "str",
    FieldType.EMAIL: "str",
    FieldType.URL: "str",
    FieldType.ENUM: "str",
    FieldType.INTEGER: "int",
    FieldType.DECIMAL: "Decimal",
    FieldType.BOOLEAN: "bool",
    FieldType.DATE: "date",
    FieldType.DATETIME: "datetime",
    FieldType.JSON: "Any",
}


def sa_type(item: AppField, prefix: str = "") -> str:
    """The SQLAlchemy type; ``prefix`` is ``sa.`` in migrations."""
    if item.max_length is not None:
        return f"{prefix}String({item.max_length})"
    return (
        prefix
        + {
            FieldType.TEXT: "Text()",
            FieldType.ENUM: "String(40)",
            FieldType.INTEGER: "Integer()",
            FieldType.DECIMAL: f"Numeric({DECIMAL_DIGITS}, {DECIMAL_PLACES})",
            FieldType.BOOLEAN: "Boolean()",
            FieldType.DATE: "Date()",
            FieldType.DATETIME: "DateTime(timezone=True)",
            FieldType.JSON: "JSON()",
        }[item.type]
    )


def py_literal(value: object) -> str:
    if isinstance(value, Decimal):
        return f'Decimal("{value}")'
    return repr(value)


def py_default(item: AppField) -> str:
    """The field's default as a Python literal (a json field's JSON text as its value)."""
    if item.type is FieldType.JSON and item.default is not None:
        return repr(json.loads(str(item.default)))
    return py_literal(item.default)


def default_factory(item: AppField) -> str | None:
    """A callable giving a request its default when the default moves or is mutable:
    ``today``/``now`` in UTC, the moment the row is stored; a JSON value parsed afresh (its
    type is then the field's own, which a literal's inferred type is not)."""
    if item.default is None:
        return None
    if item.type is FieldType.DATE:
        return "lambda: datetime.now(UTC).date()"
    if item.type is FieldType.DATETIME:
        return "lambda: datetime.now(UTC)"
    if item.type is FieldType.JSON:
        return f"lambda: loads({str(item.default)!r})"
    return None


def assigned(
    item: AppField, default: str | None = None, alias: str = "alias", factory: str | None = None
) -> str:
    """What follows a request model's annotation: `` = default``, or ``Field(...)`` with a
    default factory and, when the attribute differs, the user's word as the key."""
    args = [f"default_factory={factory}"] if factory else []
    if default is not None and not factory:
        args.append(f"default={default}")
    if item.names.aliased:
        args.append(f'{alias}="{item.names.key}"')
    if factory or item.names.aliased:
        return f" = Field({', '.join(args)})"
    return "" if default is None else f" = {default}"


def sql_default(item: AppField) -> str:
    """A server default for the migration, so rows added outside the app get it too."""
    value = item.default
    if item.type is FieldType.DATE:
        return "sa.func.current_date()"
    if item.type is FieldType.DATETIME:
        return "sa.func.now()"
    if isinstance(value, bool):
        return "sa.true()" if value else "sa.false()"
    return f"sa.text({str(value) if not isinstance(value, str) else _quoted(value)!r})"


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def mapped(item: AppField) -> str:
    """``Mapped[...]`` annotation for the model attribute."""
    base = _PY[item.type]
    return (
        f"Mapped[{base} | None]"
        if not item.required and item.type is not FieldType.JSON
        else f"Mapped[{base}]"
    )


def column(item: AppField, per_owner: bool = False) -> str:
    """``mapped_column(...)``; the column is named by the user's word (``"from"``, quoted by
    SQLAlchemy) when the attribute had to differ (``from_``). A value unique ``per_owner``
    is held by the table's constraint on (owner_id, column) instead."""
    args = [repr(item.names.key), sa_type(item)] if item.names.aliased else [sa_type(item)]
    if item.unique and not per_owner:
        args.append("unique=True")
    if item.indexed and not item.unique:
        args.append("index=True")
    if item.default is not None:
        # each row gets the moment it is stored, and its own fresh copy of a JSON value
        fresh = f"lambda: {py_default(item)}" if item.type is FieldType.JSON else None
        args.append(f"default={fresh or default_factory(item) or py_default(item)}")
    if item.type is FieldType.JSON:
        args.append(f"nullable={not item.required}")
    return f"mapped_column({', '.join(args)})"


_SCHEMA_TYPES: dict[FieldType, str] = {
    FieldType.STRING: (
        "Annotated[str, StringConstraints(min_length=1, max_length={length}), NoNul]"
    ),
    FieldType.TEXT: (
        f"Annotated[str, StringConstraints(min_length=1, max_length={TEXT_LIMIT}), NoNul]"
    ),
    FieldType.EMAIL: ("Annotated[str, StringConstraints(max_length={length}), EmailAddress]"),
    FieldType.URL: ("Annotated[str, StringConstraints(max_length={length}), WebAddress]"),
    FieldType.INTEGER: f"Annotated[int, Field(ge={INT_MIN}, le={INT_MAX})]",
    FieldType.DECIMAL: "Annotated[Decimal, Field(ge=-AMOUNT_MAX, le=AMOUNT_MAX), Amount]",
    FieldType.BOOLEAN: "bool",
    FieldType.DATE: "date",
    FieldType.DATETIME: "UtcDatetime",
    FieldType.JSON: ("Annotated[dict[str, JsonValue] | list[JsonValue], FiniteJson]"),
}


def schema_type(item: AppField) -> str:
    """The pydantic annotation of a value in create and update bodies."""
    if item.type is FieldType.ENUM:
        return "Literal[" + ", ".join(repr(v) for v in item.values) + "]"
    if has_rules(item):
        return ruled_schema_type(item, item.max_length or TEXT_LIMIT)
    return _SCHEMA_TYPES[item.type].replace("{length}", str(item.max_length))


def read_type(item: AppField) -> str:
    special = {
        FieldType.ENUM: "str",
        FieldType.DATETIME: "UtcDatetime",
        FieldType.JSON: "JsonValue",
        FieldType.DECIMAL: "Money",
    }
    base = special.get(item.type, _PY[item.type])
    return base if item.required or item.type is FieldType.JSON else f"{base} | None"


_SAMPLES: dict[FieldType, str] = {
    FieldType.STRING: "text({name!r}, n, {length})",
    FieldType.TEXT: 'f"{label} {{n}}"',
    FieldType.EMAIL: 'f"person{{n}}@example.com"',
    FieldType.URL: 'f"https://example.com/{{n}}"',
    FieldType.ENUM: "{values!r}[n % {count}]",
    FieldType.INTEGER: "n",
    FieldType.DECIMAL: 'f"{{n}}.50"',
    FieldType.BOOLEAN: "n % 2 == 0",
    FieldType.DATE: "(date(2024, 1, 1) + timedelta(days=n)).isoformat()",
    FieldType.DATETIME: (
        '(datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=n)).isoformat().replace("+00:00", "Z")'
    ),
    FieldType.JSON: '{{"n": n}}',
}


def sample(item: AppField) -> str:
    """A Python expression of a valid JSON value, unique per ``n``, for generated tests."""
    plain = _SAMPLES[item.type].format(
        name=item.names.snake,
        length=item.max_length,
        label=item.names.label,
        values=list(item.values),
        count=len(item.values),
    )
    return ruled_sample(item, plain) if has_rules(item) else plain


def invalid(item: AppField) -> str:
    """A JSON value of the wrong type for this field, as a Python expression."""
    if item.type in {FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE, FieldType.DATETIME}:
        return '"not-a-value"'
    if item.type is FieldType.BOOLEAN:
        return '"perhaps"'
    if item.type is FieldType.JSON:
        return '"not-an-object"'
    return "12345"


def input_type(item: AppField) -> str:
    return {
        FieldType.INTEGER: "number",
        FieldType.DECIMAL: "number",
        FieldType.DATE: "date",
        FieldType.DATETIME: "datetime-local",
        FieldType.EMAIL: "email",
        FieldType.URL: "url",
    }.get(item.type, "text")


# Schemas' class bodies refer only to capitalised names (type aliases, validators such as
# ``NoNul``): a user's field, always lower-case, can never shadow one for the fields after it.


# User text (app name, description) reaches generated code only through these filters:
# as a Python literal, a TOML string, HTML text that no template engine will evaluate, or a
# plain line safe inside a docstring. Labels and enum values are restricted by the spec.
def py_str(value: str) -> str:
    return repr(str(value))


def kwarg(key: str, value: str) -> str:
    """A keyword argument passing ``value`` as a user's ``key`` in generated tests:
    ``title=XSS``, or ``**{"from": XSS}`` when the key is a Python keyword."""
    return f"**{{{key!r}: {value}}}" if keyword.iskeyword(key) else f"{key}={value}"


def toml_str(value: str) -> str:
    """A TOML basic string in ASCII: other characters as ``\\uXXXX`` or, beyond the
    Basic Multilingual Plane (emoji), ``\\UXXXXXXXX`` (TOML refuses surrogate pairs)."""
    escaped = "".join(_toml_char(char) for char in str(value))
    return f'"{escaped}"'


_TOML_SHORT = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_char(char: str) -> str:
    if char in _TOML_SHORT:
        return _TOML_SHORT[char]
    code = ord(char)
    if 0x20 <= code < 0x7F:
        return char
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate is no character: TOML refuses it
        return "\\uFFFD"
    return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"


def html_text(value: str) -> str:
    return str(escape(value)).replace("{", "&#123;").replace("}", "&#125;")


def html_attr(value: str) -> str:
    """A value as the generated app's templates write it into an attribute (autoescaped)."""
    return str(escape(value))


def plain(value: str) -> str:
    return re.sub(r"[^\w .,:;!?()-]+", " ", str(value)).strip()


FILTERS: dict[str, Callable[..., Any]] = {
    "py_str": py_str,
    "kwarg": kwarg,
    "toml_str": toml_str,
    "html_text": html_text,
    "html_attr": html_attr,
    "plain": plain,
    "sa_type": sa_type,
    "py_literal": py_literal,
    "sql_default": sql_default,
    "default_factory": default_factory,
    "py_default": py_default,
    "assigned": assigned,
    "mapped": mapped,
    "column": column,
    "schema_type": schema_type,
    "read_type": read_type,
    "sample": sample,
    "invalid": invalid,
    "input_type": input_type,
    "has_rules": has_rules,
    "html_attrs": html_attrs,
    "computed_plan": computed_plan,
    "check_constraints": check_constraints,
    "outside": outside,
    "at_bounds": at_bounds,
    "db_outside": db_outside,
}
