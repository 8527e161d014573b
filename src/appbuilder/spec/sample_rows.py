"""Sample rows a model proposes for an app, judged by the spec's own value rules before
they are written into the app: rows are data, never code, and a row the app would refuse
is sent back to the model rather than shipped.

Rows are keyed by entity (its class name, ``Task``) and field (its JSON key); a
many-to-one link is the 1-based position of a sample row of its target (``"project": 2``
is the second sample project), so rows can point at each other before they have ids.
The app checks every row again with its own request models when ``make seed`` loads them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from appbuilder.rules import text_problem
from appbuilder.spec.model import DEFAULT_STRING_LENGTH, FieldType
from appbuilder.spec.resolved import AppEntity, AppField, AppModel, Link

#: rows per entity: enough to try the app, few enough to read and to answer in one call
MAX_ROWS = 10
#: a problem list sent back is cut here: the model fixes the first ones and answers again
MAX_PROBLEMS = 30
TEXT_TYPES = frozenset({FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.URL})


def seeded(model: AppModel) -> tuple[AppEntity, ...]:
    """The entities that get sample rows: the spec's own (not those a feature adds)."""
    return tuple(e for e in model.entities if e.added_by_feature is None)


def row_problems(model: AppModel, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """Every rule a proposed row breaks, each naming entity, row and field."""
    entities = {e.names.pascal: e for e in seeded(model)}
    problems = [f"{name}: not an entity of this app" for name in rows if name not in entities]
    for name, entity in entities.items():
        given = rows.get(name, ())
        if len(given) > MAX_ROWS:
            problems.append(f"{name}: {len(given)} rows; at most {MAX_ROWS}")
        for number, row in enumerate(given[:MAX_ROWS], start=1):
            problems += [f"{name} row {number}: {p}" for p in _row(entity, row, rows)]
    return problems[:MAX_PROBLEMS]


def _row(
    entity: AppEntity, row: Mapping[str, Any], rows: Mapping[str, Sequence[object]]
) -> Iterator[str]:
    fields = {f.names.snake: f for f in entity.writable_fields}
    links = {link.names.snake: link for link in entity.links}
    for key in row:
        if key not in fields and key not in links:
            yield f"{key}: not a field clients may set"
    for key, spec in fields.items():
        value = row.get(key)
        if value is None:
            if spec.required and spec.default is None:
                yield f"{key}: required"
            continue
        problem = _value(spec, value)
        if problem:
            yield f"{key}: {problem}"
    yield from _links(links, row, rows)


def _links(
    links: Mapping[str, Link], row: Mapping[str, Any], rows: Mapping[str, Sequence[object]]
) -> Iterator[str]:
    for key, link in links.items():
        value = row.get(key)
        count = min(len(rows.get(link.target, ())), MAX_ROWS)
        if value is None:
            if link.required:
                yield f"{key}: required (the position of a sample {link.target}, 1 to {count})"
        elif type(value) is not int or not 1 <= value <= count:
            yield f"{key}: must be the position of a sample {link.target}, 1 to {count}"


def _value(spec: AppField, value: object) -> str | None:  # noqa: PLR0911 - one answer per type
    if spec.type in TEXT_TYPES:
        return _text(spec, value)
    if spec.type is FieldType.BOOLEAN:
        return None if isinstance(value, bool) else "must be true or false"
    if spec.type is FieldType.ENUM:
        return None if value in spec.values else f"must be one of {', '.join(spec.values)}"
    if spec.type is FieldType.INTEGER:
        if type(value) is not int:
            return "must be a whole number"
        return _bounds(spec, value)
    if spec.type is FieldType.DECIMAL:
        return _decimal(spec, value)
    if spec.type in {FieldType.DATE, FieldType.DATETIME}:
        return _moment(spec, value)
    return None  # json: any JSON value the answer could hold


def _text(spec: AppField, value: object) -> str | None:  # noqa: PLR0911 - a rule per return
    if not isinstance(value, str):
        return "must be text"
    problem = text_problem(value)
    if problem:
        return problem
    longest = spec.max_length or (DEFAULT_STRING_LENGTH if spec.type is not FieldType.TEXT else 0)
    if longest and len(value) > longest:
        return f"at most {longest} characters"
    if spec.min_length and len(value) < spec.min_length:
        return f"at least {spec.min_length} characters"
    if spec.pattern and not re.fullmatch(spec.pattern, value):
        return f"must match {spec.pattern}"
    if spec.type is FieldType.EMAIL and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        return "must be an email address"
    if spec.type is FieldType.URL and not re.fullmatch(r"https?://[\x21-\x7e]+", value):
        return "must be an http(s) URL"
    return None


def _decimal(spec: AppField, value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return "must be a number"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return "must be a number"
    if not number.is_finite() or (isinstance(value, float) and not math.isfinite(value)):
        return "must be a finite number"
    if number.as_tuple().exponent < -2:  # type: ignore[operator]  # finite: an int
        return "at most two decimal places"
    return _bounds(spec, number)


def _moment(spec: AppField, value: object) -> str | None:
    kind = "date" if spec.type is FieldType.DATE else "datetime"
    if not isinstance(value, str):
        return f"must be an ISO {kind} as text"
    try:
        parsed: date | datetime = (
            date.fromisoformat(value)
            if spec.type is FieldType.DATE
            else datetime.fromisoformat(value.replace("Z", "+00:00"))
        )
    except ValueError:
        return f"must be an ISO {kind}"
    if isinstance(parsed, datetime) and parsed.tzinfo is None:
        return "must say its offset (Z for UTC)"
    return _bounds(spec, parsed)


def _bounds(spec: AppField, value: Any) -> str | None:
    try:
        if spec.minimum is not None and value < spec.minimum:
            return f"at least {spec.minimum}"
        if spec.maximum is not None and value > spec.maximum:
            return f"at most {spec.maximum}"
    except TypeError:  # an aware datetime against a naive bound, or the reverse
        return "outside the field's bounds"
    return None
