"""Value rules of one field: ``min``/``max``, ``min_length`` and ``pattern``.

Each bound is parsed to the field's own kind of value (a number, a date, a UTC datetime)
and then handed to the stack, which says whether its app could store it: a spec is
accepted exactly when the generated app can enforce it. A pattern must mean the same to
Python's ``re`` (our checks, the generated tests) and to the stack's engine (the app), and
some value of an allowed length must match it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal

from appbuilder.spec.model import DEFAULT_STRING_LENGTH, SIZED_TYPES, FieldSpec, FieldType
from appbuilder.spec.patterns import matching
from appbuilder.spec.problems import Problem
from appbuilder.spec.stack_rules import StackRules

BOUNDED_TYPES = frozenset(
    {FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE, FieldType.DATETIME}
)
LENGTH_TYPES = SIZED_TYPES | {FieldType.TEXT}
PATTERN_TYPES = frozenset({FieldType.STRING, FieldType.TEXT})
#: The longest value a text field takes when it sets no ``max_length`` (the stack's limit
#: is checked by the stack; this only bounds the search for a matching sample).
_TEXT_SAMPLE_LIMIT = 100_000

BoundValue = int | Decimal | date | datetime


class BoundError(ValueError):
    """A ``min``/``max`` that is not a value of the field's kind."""


def parse_bound(kind: FieldType, value: int | Decimal | str) -> BoundValue:
    """The bound as a value of the field's kind; naive datetimes are UTC."""
    if kind is FieldType.INTEGER:
        if isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral()):
            return int(value)
        raise BoundError("must be a whole number")
    if kind is FieldType.DECIMAL:
        if isinstance(value, str) or not Decimal(value).is_finite():
            raise BoundError("must be a number")
        return Decimal(value)
    if not isinstance(value, str):
        raise BoundError(f"must be an ISO {kind.value} such as 2024-01-31")
    try:
        if kind is FieldType.DATE:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise BoundError(f"must be an ISO {kind.value} such as 2024-01-31") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def length_range(item: FieldSpec) -> tuple[int, int]:
    """The fewest and most characters a value of this field may hold."""
    longest = item.max_length or (
        DEFAULT_STRING_LENGTH if item.type in SIZED_TYPES else _TEXT_SAMPLE_LIMIT
    )
    return item.min_length or 1, longest


def check_value_rules(path: str, item: FieldSpec, stack: StackRules) -> Iterable[Problem]:
    yield from _check_bounds(path, item, stack)
    if item.min_length is not None:
        if item.type not in LENGTH_TYPES:
            yield Problem(
                f"{path}.min_length",
                "not-applicable",
                "min_length applies to string, text, email and url fields only.",
            )
        elif item.min_length > length_range(item)[1]:
            yield Problem(
                f"{path}.min_length",
                "min-above-max",
                f"min_length {item.min_length} is above the longest value allowed "
                f"({length_range(item)[1]}).",
            )
    if item.pattern is not None:
        yield from _check_pattern(f"{path}.pattern", item, stack)


def _check_bounds(path: str, item: FieldSpec, stack: StackRules) -> Iterable[Problem]:
    parsed: dict[str, BoundValue] = {}
    for rule, value in (("min", item.min), ("max", item.max)):
        if value is None:
            continue
        if item.type not in BOUNDED_TYPES:
            yield Problem(
                f"{path}.{rule}",
                "not-applicable",
                f"{rule} applies to integer, decimal, date and datetime fields only.",
            )
            continue
        try:
            bound = parse_bound(item.type, value)
        except BoundError as error:
            yield Problem(f"{path}.{rule}", "type", f"{value!r} {error}.")
            continue
        reason = stack.refuses_bound(item.type, bound)
        if reason:
            yield Problem(f"{path}.{rule}", "out-of-range", f"{value!r} {reason}.")
            continue
        parsed[rule] = bound
    low, high = parsed.get("min"), parsed.get("max")
    if low is not None and high is not None and low > high:  # type: ignore[operator]
        yield Problem(f"{path}.max", "min-above-max", f"max {item.max} is below min {item.min}.")


def pattern_problem(pattern: str) -> str | None:
    """Why Python's ``re`` can't take ``pattern`` as the app's engine would, or None."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            re.compile(pattern)
        except re.error as error:
            return f"is not a regular expression: {error}"
        except (FutureWarning, DeprecationWarning) as warning:
            return f"means different things to different regex engines ({warning})"
    return None


def _check_pattern(path: str, item: FieldSpec, stack: StackRules) -> Iterable[Problem]:
    pattern = item.pattern or ""
    if item.type not in PATTERN_TYPES:
        yield Problem(path, "not-applicable", "pattern applies to string and text fields only.")
        return
    reason = pattern_problem(pattern) or stack.refuses_pattern(pattern)
    if reason:
        yield Problem(path, "pattern", f"The pattern {reason}.")
        return
    shortest, longest = length_range(item)
    if not matching(pattern, shortest, longest, 1):
        yield Problem(
            path,
            "pattern-unsatisfiable",
            f"No value of {shortest} to {longest} characters was found that matches the pattern "
            "as a whole; check the pattern and the field's lengths.",
        )
    elif item.unique and len(matching(pattern, shortest, longest, 40)) < 40:
        yield Problem(
            path,
            "pattern-too-narrow",
            "A unique field's pattern must allow many values (it allows only a handful).",
        )


def check_computed_field(path: str, item: FieldSpec) -> Iterable[Problem]:
    """A computed field's value is the server's: nothing a client-side rule could bound."""
    stated = [
        name
        for name, value in (
            ("default", item.default),
            ("min", item.min),
            ("max", item.max),
            ("min_length", item.min_length),
            ("pattern", item.pattern),
        )
        if value is not None
    ]
    if item.unique:
        stated.append("unique")
    for name in stated:
        yield Problem(
            f"{path}.{name}",
            "not-applicable",
            f"A computed field takes no {name}: the server sets its value.",
        )
