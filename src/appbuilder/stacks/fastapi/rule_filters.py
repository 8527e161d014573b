"""Filters for a field's value rules: request-model annotations, database checks, and the
values the generated tests send (inside, at and just outside each rule).

``filters.schema_type`` and ``filters.sample`` delegate here when a field has rules, so a
field without them renders exactly as before.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from math import ceil, floor

from appbuilder.spec.model import FieldType
from appbuilder.spec.patterns import matching, mismatching
from appbuilder.spec.resolved import AppField
from appbuilder.stacks.fastapi.values import DECIMAL_LIMIT, INT_MAX, INT_MIN, TEXT_LIMIT, whole

Bound = int | Decimal | date | datetime
#: PostgreSQL cuts identifiers at 63 bytes; longer constraint names get a stable hash suffix.
MAX_IDENTIFIER = 63
#: How many distinct pattern samples the generated tests cycle through.
UNIQUE_SAMPLES, SAMPLES = 40, 8
#: How far from its bound an open-ended sample range reaches.
_SPAN = 1_000_000


def has_rules(item: AppField) -> bool:
    return any(
        rule is not None for rule in (item.minimum, item.maximum, item.min_length, item.pattern)
    )


def html_attrs(item: AppField) -> list[tuple[str, str]]:
    """The input attributes a browser checks before sending a form (the server checks again):
    ``min``/``max`` for numbers, dates and datetimes (UTC, as the form shows them),
    ``minlength`` and ``pattern`` (the whole value, as the spec means it) for text."""
    attrs: list[tuple[str, str]] = []
    for name, bound in (("min", item.minimum), ("max", item.maximum)):
        if isinstance(bound, datetime):
            utc = bound.astimezone(UTC)
            attrs.append((name, utc.strftime("%Y-%m-%dT%H:%M" + (":%S" if utc.second else ""))))
        elif isinstance(bound, date):
            attrs.append((name, bound.isoformat()))
        elif bound is not None:
            attrs.append((name, str(bound)))
    if item.min_length is not None:
        attrs.append(("minlength", str(item.min_length)))
    if item.pattern is not None:
        attrs.append(("pattern", item.pattern))
    return attrs


def bound_literal(value: Bound) -> str:
    """A bound as Python source in the generated app."""
    if isinstance(value, datetime):
        parts = [value.year, value.month, value.day, value.hour, value.minute, value.second]
        if value.microsecond:
            parts.append(value.microsecond)
        return f"datetime({', '.join(map(str, parts))}, tzinfo=UTC)"
    if isinstance(value, date):
        return f"date({value.year}, {value.month}, {value.day})"
    if isinstance(value, Decimal):
        return f'Decimal("{value}")'
    return str(value)


def json_value(item: AppField, value: Bound) -> str:
    """A bound (or a value near one) as the JSON a client sends, as Python source."""
    if isinstance(value, datetime):
        return repr(value.astimezone(UTC).isoformat().replace("+00:00", "Z"))
    if isinstance(value, date):
        return repr(value.isoformat())
    if item.type is FieldType.DECIMAL:
        return repr(str(Decimal(value).quantize(Decimal("0.01"))))
    return str(value)


def bounds_args(item: AppField) -> str:
    """``ge=..., le=...`` for ``Field``: the stack's limits narrowed by the field's own."""
    args = []
    if item.minimum is not None:
        args.append(f"ge={bound_literal(item.minimum)}")
    if item.maximum is not None:
        args.append(f"le={bound_literal(item.maximum)}")
    return ", ".join(args)


def ruled_schema_type(item: AppField, length: int | None) -> str:
    """The annotation of a field with value rules in create and update bodies."""
    shortest = item.min_length or (1 if item.type in {FieldType.STRING, FieldType.TEXT} else None)
    text_args = [f"max_length={length}"]
    if shortest is not None:
        text_args.insert(0, f"min_length={shortest}")
    if item.pattern is not None:
        text_args.append(f"pattern={whole(item.pattern)!r}")
    text = f"StringConstraints({', '.join(text_args)})"
    if item.type is FieldType.INTEGER:
        low = max(item.minimum, INT_MIN) if item.minimum is not None else INT_MIN
        high = min(item.maximum, INT_MAX) if item.maximum is not None else INT_MAX
        return f"Annotated[int, Field(ge={low}, le={high})]"
    if item.type is FieldType.DECIMAL:
        # the column's range, then the field's own (later wins in the API document)
        column = "Field(ge=-AMOUNT_MAX, le=AMOUNT_MAX)"
        return f"Annotated[Decimal, {column}, Field({bounds_args(item)}), Amount]"
    if item.type is FieldType.DATE:
        return f"Annotated[date, Field({bounds_args(item)})]"
    if item.type is FieldType.DATETIME:
        return f"Annotated[UtcDatetime, Field({bounds_args(item)})]"
    check = {  # capitalised: a user's (lower-case) field can't shadow them in a class body
        FieldType.STRING: "NoNul",
        FieldType.TEXT: "NoNul",
        FieldType.EMAIL: "EmailAddress",
        FieldType.URL: "WebAddress",
    }[item.type]
    return f"Annotated[str, {text}, {check}]"


def check_constraints(item: AppField, table: str) -> list[tuple[str, str]]:
    """(name, SQL) of the database checks for a field's ``min``/``max``.

    Numbers and dates compare alike on SQLite and PostgreSQL (dates are ISO text on
    SQLite); datetimes do not (SQLite keeps them as text without an offset), so their
    bounds are the app's alone.
    """
    if item.type not in {FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE}:
        return []
    column = f'"{item.names.key}"'
    checks = []
    for rule, value, op in (("min", item.minimum, ">="), ("max", item.maximum, "<=")):
        if value is None:
            continue
        literal = f"'{value.isoformat()}'" if isinstance(value, date) else str(value)
        checks.append((constraint_name(table, item.names.key, rule), f"{column} {op} {literal}"))
    return checks


def constraint_name(table: str, column: str, rule: str) -> str:
    """``ck_<table>_<column>_<rule>``, cut to 63 bytes with a stable hash when longer."""
    name = f"ck_{table}_{column}_{rule}"
    if len(name.encode()) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return name.encode()[: MAX_IDENTIFIER - 9].decode(errors="ignore") + "_" + digest


def _lengths(item: AppField) -> tuple[int, int]:
    return item.min_length or 1, item.max_length or TEXT_LIMIT


def pattern_samples(item: AppField) -> list[str]:
    shortest, longest = _lengths(item)
    return matching(
        item.pattern or "", shortest, longest, UNIQUE_SAMPLES if item.unique else SAMPLES
    )


def ruled_sample(item: AppField, plain: str) -> str:  # noqa: PLR0911 - one case per kind
    """A valid value unique per ``n`` (``plain`` is the sample without rules)."""
    if item.pattern is not None:
        samples = pattern_samples(item)
        return f"{tuple(samples)!r}[n % {len(samples)}]"
    if item.type is FieldType.INTEGER:
        low, span = _int_range(item)
        return _offset(low, span)
    if item.type is FieldType.DECIMAL:
        return _decimal_sample(item)
    if item.type in {FieldType.DATE, FieldType.DATETIME}:
        return _moment_sample(item)
    if item.min_length:
        if item.type is FieldType.EMAIL:
            pad = max(item.min_length - len("person0@example.com"), 0)
            return f'f"person{{n}}{"x" * pad}@example.com"'
        return f'({plain}).ljust({item.min_length}, "x")'
    return plain


def _int_range(item: AppField) -> tuple[int, int]:
    low = item.minimum if item.minimum is not None else None
    high = item.maximum if item.maximum is not None else None
    if low is None:
        low = max(int(high) - _SPAN, INT_MIN)  # type: ignore[arg-type]
    if high is None:
        high = min(int(low) + _SPAN, INT_MAX)  # type: ignore[arg-type]
    return int(low), int(high) - int(low) + 1  # type: ignore[arg-type]


def _decimal_sample(item: AppField) -> str:
    low = Decimal(item.minimum) if item.minimum is not None else None  # type: ignore[arg-type]
    high = Decimal(item.maximum) if item.maximum is not None else None  # type: ignore[arg-type]
    start = ceil(low) if low is not None else floor(high or 0) - _SPAN
    start = max(start, -int(DECIMAL_LIMIT))
    end = floor(high) if high is not None else min(start + _SPAN, int(DECIMAL_LIMIT))
    if end < start:  # no whole number between the bounds: the lower bound itself
        return repr(str((low if low is not None else high or Decimal(0)).quantize(Decimal("0.01"))))
    return f'f"{{{_offset(start, end - start + 1)}}}.00"'


def _offset(start: int, span: int) -> str:
    """``start + n % span``: unique per ``n`` within a range of ``span`` values."""
    return f"n % {span}" if start == 0 else f"{start} + n % {span}"


def _moment_sample(item: AppField) -> str:
    is_date = item.type is FieldType.DATE
    unit = timedelta(days=1) if is_date else timedelta(hours=1)
    default_start = date(2024, 1, 1) if is_date else datetime(2024, 1, 1, tzinfo=UTC)
    low, high = item.minimum, item.maximum
    start = low if low is not None else (high - unit * 3650 if high is not None else default_start)  # type: ignore[operator]
    span = 3650 if high is None else int((high - start) / unit) + 1  # type: ignore[operator]
    base = f"{bound_literal(start)} + timedelta({'days' if is_date else 'hours'}=n % {span})"
    if is_date:
        return f"({base}).isoformat()"
    return f'({base}).isoformat().replace("+00:00", "Z")'


def outside(item: AppField) -> list[str]:
    """JSON values just outside the field's rules, each a 422 naming the field."""
    values = []
    step: int | Decimal | timedelta
    for bound, sign in ((item.minimum, -1), (item.maximum, 1)):
        if bound is None:
            continue
        if item.type is FieldType.INTEGER:
            step = 1
        elif item.type is FieldType.DECIMAL:
            step = Decimal("0.01")
        else:
            step = timedelta(days=1) if item.type is FieldType.DATE else timedelta(seconds=1)
        try:
            values.append(json_value(item, bound + sign * step))  # type: ignore[operator]
        except OverflowError:
            continue
    if item.min_length and item.min_length > 1:
        values.append(repr("x" * (item.min_length - 1)))
    if item.pattern is not None:
        samples = pattern_samples(item)
        shortest, longest = _lengths(item)
        wrong = mismatching(item.pattern, shortest, longest, samples[0] if samples else "")
        if wrong is not None:
            values.append(repr(wrong))
    return values


def at_bounds(item: AppField) -> list[str]:
    """JSON values exactly at the field's ``min`` and ``max``, both accepted."""
    values = [json_value(item, b) for b in (item.minimum, item.maximum) if b is not None]
    return list(dict.fromkeys(values))


def db_outside(item: AppField) -> list[str]:
    """Values just outside a field's database checks, as SQL parameters (Python source):
    numbers and ISO dates as text, which both databases cast to the column's type."""
    if not check_constraints(item, "t"):
        return []
    values = []
    step = {FieldType.INTEGER: 1, FieldType.DECIMAL: Decimal("0.01")}.get(item.type)
    for bound, sign in ((item.minimum, -1), (item.maximum, 1)):
        if bound is None:
            continue
        try:
            beyond = bound + sign * (step if step is not None else timedelta(days=1))  # type: ignore[operator]
        except OverflowError:
            continue
        values.append(str(beyond) if item.type is FieldType.INTEGER else repr(str(beyond)))
    return values
