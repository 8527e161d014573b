"""The value rules of the FastAPI stack, as the Python types the generated app declares.

The generated ``app/validators.py`` and the request models (see ``filters.schema_type``)
are written from these numbers and functions, and spec validation checks a field's
default with a ``TypeAdapter`` over the same types, so a default is accepted by the spec
exactly when the app would accept it from a client (``http://a`` is judged alike).
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, AnyHttpUrl, Field, StringConstraints, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from appbuilder.spec.model import DEFAULT_STRING_LENGTH, FieldSpec, FieldType

#: The database's integer column (a 32-bit signed integer on PostgreSQL).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
#: ``Numeric(12, 2)``: 10 digits before the point and 2 after.
DECIMAL_DIGITS, DECIMAL_PLACES = 12, 2
#: The longest text a ``text`` field takes.
TEXT_LIMIT = 100_000

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


def _text(length: int) -> Any:
    return Annotated[
        str, StringConstraints(min_length=1, max_length=length), AfterValidator(no_nul)
    ]


@cache
def value_type(kind: FieldType, max_length: int | None, values: tuple[str, ...]) -> Any:
    """The annotation of a value of this field in the app's create and update bodies."""
    length = max_length or DEFAULT_STRING_LENGTH
    types: dict[FieldType, Any] = {
        FieldType.STRING: _text(length),
        FieldType.TEXT: _text(TEXT_LIMIT),
        FieldType.EMAIL: Annotated[
            str, StringConstraints(max_length=length), AfterValidator(email_address)
        ],
        FieldType.URL: Annotated[
            str, StringConstraints(max_length=length), AfterValidator(web_address)
        ],
        FieldType.INTEGER: Annotated[int, Field(ge=INT_MIN, le=INT_MAX, strict=True)],
        FieldType.DECIMAL: Annotated[
            Decimal, Field(max_digits=DECIMAL_DIGITS, decimal_places=DECIMAL_PLACES)
        ],
        FieldType.BOOLEAN: Annotated[bool, Field(strict=True)],
    }
    if kind is FieldType.ENUM:
        return Literal[values] if values else str
    return types.get(kind)


def refuses(item: FieldSpec, value: object) -> str | None:
    """Why the app would refuse ``value`` for this field from a client, or None if it accepts it."""
    annotation = value_type(item.type, item.max_length, tuple(item.values))
    if annotation is None:
        return f"is not a value a {item.type.value} field can default to"
    try:
        TypeAdapter(annotation).validate_python(value)
    except PydanticValidationError as error:
        return "is refused by the app: " + error.errors()[0]["msg"]
    return None
