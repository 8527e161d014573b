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
            found = [*_row(entity, row, rows)]
            found += _same_organisation(entities, entity, number, row, rows)
            found += _linkable(entities, entity, row, rows)
            problems += [f"{name} row {number}: {p}" for p in found]
    return problems[:MAX_PROBLEMS]


def _row(
    entity: AppEntity, row: Mapping[str, Any], rows: Mapping[str, Sequence[object]]
) -> Iterator[str]:
    yield from _own(entity, row)
    yield from _links({link.names.snake: link for link in entity.links}, row, rows)


def _same_organisation(
    entities: Mapping[str, AppEntity],
    entity: AppEntity,
    number: int,
    row: Mapping[str, Any],
    rows: Mapping[str, Sequence[object]],
) -> Iterator[str]:
    """A row of an organisation links only to rows of that same organisation (the app
    refuses the rest as it refuses them from a client: a link into another organisation
    is a link to a row that does not exist)."""
    home = _organisation_of(entity, number, row)
    if home is None:
        return
    for link in entity.links:
        target = entities.get(link.target)
        its_own = f"{link.names.snake}_id" == entity.tenant  # the link that says which
        if target is None or target.tenant in (None, "id") or its_own:
            continue
        position = row.get(link.names.snake)
        given = rows.get(link.target, ())
        if type(position) is not int or not 1 <= position <= len(given):
            continue  # said by _links
        other = given[position - 1]
        there = _organisation_of(target, position, other) if isinstance(other, Mapping) else None
        if there is not None and there != home:
            yield (
                f"{link.names.snake}: must be a sample {link.target} of the same organisation "
                f"as this row ({link.target} {position} belongs to another)"
            )


def _linkable(
    entities: Mapping[str, AppEntity],
    entity: AppEntity,
    row: Mapping[str, Any],
    rows: Mapping[str, Sequence[object]],
) -> Iterator[str]:
    """A link with ``linkable_if`` points only at sample rows holding its values (the app
    refuses the rest: a shop's order item for a withdrawn product)."""
    for link in entity.links:
        target = entities.get(link.target)
        position = row.get(link.names.snake)
        given = rows.get(link.target, ())
        if not link.linkable_if or target is None or type(position) is not int:
            continue
        other = given[position - 1] if 1 <= position <= len(given) else None
        if not isinstance(other, Mapping):
            continue  # said by _links
        defaults = {f.names.snake: f.default for f in target.fields}
        for name, value in link.linkable_if:
            if other.get(name, defaults.get(name)) != value:
                yield (
                    f"{link.names.snake}: must be a sample {link.target} whose {name} is "
                    f"{value!r} ({link.target} {position} is not)"
                )


def _organisation_of(entity: AppEntity, number: int, row: Mapping[str, Any]) -> int | None:
    """The position of the sample organisation a row belongs to (None: none, or not said)."""
    if entity.tenant is None:
        return None
    if entity.tenant == "id":
        return number
    value = row.get(entity.tenant.removesuffix("_id"))
    return value if type(value) is int else None


def _own(entity: AppEntity, row: Mapping[str, Any]) -> Iterator[str]:
    """The row's problems apart from where its links point."""
    fields = {f.names.snake: f for f in entity.writable_fields}
    links = {link.names.snake for link in entity.links}
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


def usable_rows(
    model: AppModel, rows: Mapping[str, Sequence[Mapping[str, Any]]]
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """The rows of an answer that break no rule, their links renumbered, and what was left
    out: for a model that never got every row right, the app still gets the good ones.

    A row with a problem of its own is left out, and so is a row whose required link
    points at a row left out (or at none); an optional link like that is emptied."""
    entities = {e.names.pascal: e for e in seeded(model)}
    given = {name: list(rows.get(name, ()))[:MAX_ROWS] for name in entities}
    left_out = [f"{name}: not an entity of this app" for name in rows if name not in entities]
    kept: dict[str, set[int]] = {name: set() for name in entities}
    for name, entity in entities.items():
        for number, row in enumerate(given[name], start=1):
            problem = (
                next(_own(entity, row), None)
                or next(_same_organisation(entities, entity, number, row, given), None)
                or next(_linkable(entities, entity, row, given), None)
            )
            if problem is None:
                kept[name].add(number)
            else:
                left_out.append(f"{name} row {number}: {problem}")
    left_out += _drop_unlinked(entities, given, kept)
    position = {
        name: {old: new for new, old in enumerate(sorted(numbers), start=1)}
        for name, numbers in kept.items()
    }
    usable = {
        name: [_relinked(entity, given[name][n - 1], position) for n in sorted(kept[name])]
        for name, entity in entities.items()
    }
    return {name: found for name, found in usable.items() if found}, left_out


def _drop_unlinked(
    entities: Mapping[str, AppEntity],
    given: Mapping[str, Sequence[Mapping[str, Any]]],
    kept: dict[str, set[int]],
) -> list[str]:
    """Leave out the kept rows whose required link finds no kept row; a row left out may
    leave out the rows that need it in turn, so until nothing changes."""
    left_out: list[str] = []
    changed = True
    while changed:
        changed = False
        for name, entity in entities.items():
            for number in sorted(kept[name]):
                row = given[name][number - 1]
                broken = next(
                    (link for link in entity.links if link.required and _dangling(link, row, kept)),
                    None,
                )
                if broken is not None:
                    kept[name].discard(number)
                    left_out.append(
                        f"{name} row {number}: {broken.names.snake}: "
                        f"no usable sample {broken.target} to link to"
                    )
                    changed = True
    return left_out


def _relinked(
    entity: AppEntity, row: Mapping[str, Any], position: Mapping[str, Mapping[int, int]]
) -> dict[str, Any]:
    """``row`` with its links pointing at the kept rows' new positions (an optional link
    to a row left out emptied)."""
    out = dict(row)
    for link in entity.links:
        value = out.get(link.names.snake)
        if value is not None:
            out[link.names.snake] = (
                position.get(link.target, {}).get(value) if type(value) is int else None
            )
    return out


def _dangling(link: Link, row: Mapping[str, Any], kept: Mapping[str, set[int]]) -> bool:
    """Whether ``row``'s ``link`` needs a row that is not there (an empty optional link
    needs none)."""
    value = row.get(link.names.snake)
    if value is None:
        return link.required
    return type(value) is not int or value not in kept.get(link.target, set())
