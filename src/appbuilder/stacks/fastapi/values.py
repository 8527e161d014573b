"""The value rules of the FastAPI stack, as the Python types the generated app declares.

The generated ``app/validators.py`` and the request models (see ``filters.schema_type``)
are written from these numbers and functions, and spec validation checks a field's
default with a ``TypeAdapter`` over the same types, so a default is accepted by the spec
exactly when the app would accept it from a client (``http://a`` is judged alike).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, AnyHttpUrl, Field, StringConstraints, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import SchemaError as PydanticSchemaError

from appbuilder.spec.model import DEFAULT_STRING_LENGTH, FieldSpec, FieldType
from appbuilder.spec.value_rules import BoundError, BoundValue, parse_bound

#: The database's integer column (a 32-bit signed integer on PostgreSQL).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
#: ``Numeric(12, 2)``: 10 digits before the point and 2 after.
DECIMAL_DIGITS, DECIMAL_PLACES = 12, 2
#: The largest amount ``Numeric(12, 2)`` holds.
DECIMAL_LIMIT = Decimal("9999999999.99")
#: The longest text a ``text`` field takes.
TEXT_LIMIT = 100_000
#: Datetimes the app stores (and converts to UTC) without overflowing.
DATETIME_MIN = datetime(1, 1, 2, tzinfo=UTC)
DATETIME_MAX = datetime(9999, 12, 30, tzinfo=UTC)

_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


def no_nul(value: str) -> str:
    """PostgreSQL can't store NUL characters in text; the app refuses them up front."""
    if "\x00" in value:
        raise ValueError("Text may not contain NUL characters.")
    return value


def email_address(value: str) -> str:
    """The app's email check: email-validator, no DNS, lower-cased."""
    try:
        address = validate_email(value, check_deliverability=False, test_environment=True)
        return address.normalized.lower()
    except EmailNotValidError as error:
        raise ValueError(str(error)) from error


#: The app's ``WEB_ADDRESS``: http(s), an ASCII host name, a port, printable ASCII after.
WEB_ADDRESS = r"^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,4})?(/[!-~]*)?$"


def web_address(value: str) -> str:
    """The app's URL check: ``WEB_ADDRESS``, then pydantic's ``AnyHttpUrl``."""
    if not re.fullmatch(WEB_ADDRESS, value):
        raise ValueError("Give an http:// or https:// address, such as https://example.com/page.")
    _URL.validate_python(value)
    return value


def _text(length: int, min_length: int | None, pattern: str | None) -> Any:
    return Annotated[
        str,
        StringConstraints(min_length=min_length or 1, max_length=length, pattern=whole(pattern)),
        AfterValidator(no_nul),
    ]


def whole(pattern: str | None) -> str | None:
    """The app matches a field's pattern against the whole value."""
    return None if pattern is None else f"^(?:{pattern})$"


@dataclass(frozen=True)
class Rules:
    """A field's value rules, as the app's request models enforce them."""

    max_length: int | None = None
    values: tuple[str, ...] = ()
    minimum: BoundValue | None = None
    maximum: BoundValue | None = None
    min_length: int | None = None
    pattern: str | None = None


def _bounded(base: Any, rules: Rules, low: Any, high: Any) -> Any:
    """``base`` within the stack's limits and the field's own ``min``/``max``."""
    ge = low if rules.minimum is None else max(rules.minimum, low)
    le = high if rules.maximum is None else min(rules.maximum, high)
    return Annotated[base, Field(ge=ge, le=le)]


@cache
def value_type(kind: FieldType, rules: Rules = Rules()) -> Any:
    """The annotation of a value of this field in the app's create and update bodies."""
    length = rules.max_length or DEFAULT_STRING_LENGTH
    sized = StringConstraints(min_length=rules.min_length, max_length=length)
    types: dict[FieldType, Callable[[], Any]] = {
        FieldType.STRING: lambda: _text(length, rules.min_length, rules.pattern),
        FieldType.TEXT: lambda: _text(
            rules.max_length or TEXT_LIMIT, rules.min_length, rules.pattern
        ),
        FieldType.EMAIL: lambda: Annotated[str, sized, AfterValidator(email_address)],
        FieldType.URL: lambda: Annotated[str, sized, AfterValidator(web_address)],
        FieldType.INTEGER: lambda: Annotated[
            _bounded(int, rules, INT_MIN, INT_MAX), Field(strict=True)
        ],
        FieldType.DECIMAL: lambda: Annotated[
            _bounded(Decimal, rules, -DECIMAL_LIMIT, DECIMAL_LIMIT),
            Field(max_digits=DECIMAL_DIGITS, decimal_places=DECIMAL_PLACES),
        ],
        FieldType.BOOLEAN: lambda: Annotated[bool, Field(strict=True)],
        FieldType.DATE: lambda: _bounded(date, rules, date.min, date.max),
        FieldType.DATETIME: lambda: _bounded(datetime, rules, DATETIME_MIN, DATETIME_MAX),
    }
    if kind is FieldType.ENUM:
        return Literal[rules.values] if rules.values else str
    make = types.get(kind)
    return None if make is None else make()


def rules_of(item: FieldSpec) -> Rules:
    """The value rules a spec field states; bounds that don't parse are left out (the spec
    reports them on their own)."""
    bounds: list[BoundValue | None] = []
    for value in (item.min, item.max):
        try:
            bounds.append(None if value is None else parse_bound(item.type, value))
        except BoundError:
            bounds.append(None)
    return Rules(
        max_length=item.max_length,
        values=tuple(item.values),
        minimum=bounds[0],
        maximum=bounds[1],
        min_length=item.min_length,
        pattern=item.pattern,
    )


def refuses(item: FieldSpec, value: object) -> str | None:
    """Why the app would refuse ``value`` for this field from a client, or None if it accepts it."""
    if item.type is FieldType.JSON:
        return _json_refusal(value)
    if item.type in {FieldType.DATE, FieldType.DATETIME}:
        return None  # only 'today' and 'now', checked by the spec itself
    return _refusal(value_type(item.type, rules_of(item)), value)


def _json_refusal(value: object) -> str | None:
    """The app's JSON fields hold finite numbers only, and a default is written into the
    generated code and the migration: it must be plain JSON and small."""
    try:
        text = json.dumps(value, allow_nan=False)
    except ValueError:
        return "holds NaN or Infinity, which JSON fields refuse"
    if len(text) > JSON_DEFAULT_LIMIT:
        return f"is longer than {JSON_DEFAULT_LIMIT} characters of JSON"
    return None


#: A JSON default is written into the models and the migration: keep it short.
JSON_DEFAULT_LIMIT = 2000


def refuses_bound(kind: FieldType, value: object) -> str | None:
    """Why the app's column could not hold ``value`` as a ``min``/``max``, or None."""
    return _refusal(value_type(kind), value)


def refuses_pattern(pattern: str) -> str | None:
    """Why the app's regex engine (Rust's ``regex`` through pydantic) refuses ``pattern``."""
    try:
        TypeAdapter(Annotated[str, StringConstraints(pattern=whole(pattern))])
    except PydanticSchemaError as error:
        detail = str(error).rsplit("error:", 1)[-1].strip().splitlines()[0]
        return f"is not one the app's engine runs in linear time ({detail})"
    return None


def _refusal(annotation: Any, value: object) -> str | None:
    if annotation is None:
        return "is not a value this field takes"
    try:
        TypeAdapter(annotation).validate_python(value)
    except PydanticValidationError as error:
        return "is refused by the app: " + error.errors()[0]["msg"]
    return None
