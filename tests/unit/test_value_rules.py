"""Field value rules in a spec: min/max, min_length and pattern, each refusal with its path
and rule, and what the generated app's request models make of the accepted ones."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from appbuilder.enums import ProjectTemplate
from appbuilder.errors import SpecError
from appbuilder.spec.loading import build_spec
from appbuilder.spec.patterns import matching, mismatching
from appbuilder.spec.resolved import AppModel
from appbuilder.spec.validation import resolve
from appbuilder.stacks.fastapi import rule_filters


def app(**field: Any) -> dict[str, Any]:
    return {"name": "Rules", "entities": [{"name": "Thing", "fields": [{"name": "x", **field}]}]}


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as raised:
        resolve(build_spec(data, template=ProjectTemplate.CUSTOM))
    return [(path, rule) for path, rule, _ in raised.value.problems]


def model(data: dict[str, Any]) -> AppModel:
    return resolve(build_spec(data, template=ProjectTemplate.CUSTOM))


X = "entities.Thing.fields.x"

REFUSED: list[tuple[str, dict[str, Any], tuple[str, str]]] = [
    ("min on a string", app(min=1), (f"{X}.min", "not-applicable")),
    ("max on a boolean", app(type="boolean", max=1), (f"{X}.max", "not-applicable")),
    ("fractional integer bound", app(type="integer", min=1.5), (f"{X}.min", "type")),
    ("text integer bound", app(type="integer", max="ten"), (f"{X}.max", "type")),
    ("bad date", app(type="date", min="2024-13-01"), (f"{X}.min", "type")),
    ("number as date", app(type="date", min=5), (f"{X}.min", "type")),
    ("bad datetime", app(type="datetime", max="soon"), (f"{X}.max", "type")),
    ("min above max", app(type="integer", min=5, max=4), (f"{X}.max", "min-above-max")),
    (
        "date min above max",
        app(type="date", min="2024-02-01", max="2024-01-31"),
        (f"{X}.max", "min-above-max"),
    ),
    ("beyond int32", app(type="integer", max=2**31), (f"{X}.max", "out-of-range")),
    ("decimal too wide", app(type="decimal", min=-(10**12)), (f"{X}.min", "out-of-range")),
    ("three decimal places", app(type="decimal", min="0.001"), (f"{X}.min", "out-of-range")),
    (
        "datetime at the edge",
        app(type="datetime", max="9999-12-31T23:59:59"),
        (f"{X}.max", "out-of-range"),
    ),
    ("default below min", app(type="integer", min=1, default=0), (f"{X}.default", "default-value")),
    (
        "default above max",
        app(type="decimal", max=5, default=9.99),
        (f"{X}.default", "default-value"),
    ),
    (
        "min_length on integer",
        app(type="integer", min_length=2),
        (f"{X}.min_length", "not-applicable"),
    ),
    (
        "min_length above max_length",
        app(min_length=10, max_length=5),
        (f"{X}.min_length", "min-above-max"),
    ),
    ("default too short", app(min_length=5, default="abc"), (f"{X}.default", "default-value")),
    ("pattern on integer", app(type="integer", pattern="^1$"), (f"{X}.pattern", "not-applicable")),
    ("pattern on email", app(type="email", pattern="a"), (f"{X}.pattern", "not-applicable")),
    ("pattern does not compile", app(pattern="[a-"), (f"{X}.pattern", "pattern")),
    ("look-ahead", app(pattern="(?=a)a"), (f"{X}.pattern", "pattern")),
    ("back-reference", app(pattern=r"(a)\1"), (f"{X}.pattern", "pattern")),
    ("engine-dependent set", app(pattern="[[:alpha:]]+"), (f"{X}.pattern", "pattern")),
    (
        "pattern too long for lengths",
        app(pattern="a{10}", max_length=5),
        (f"{X}.pattern", "pattern-unsatisfiable"),
    ),
    (
        "pattern default mismatch",
        app(pattern="[A-Z]+", default="abc"),
        (f"{X}.default", "default-value"),
    ),
    (
        "narrow unique pattern",
        app(pattern="yes|no", unique=True),
        (f"{X}.pattern", "pattern-too-narrow"),
    ),
    ("bool bound", app(type="integer", min=True), (f"{X}.min.int", "int_type")),
]


@pytest.mark.parametrize(("data", "expected"), [pytest.param(d, e, id=i) for i, d, e in REFUSED])
def test_bad_value_rules_name_the_field_and_rule(
    data: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert expected in problems(data)


def test_bounds_are_parsed_to_the_fields_kind() -> None:
    fields = (
        model(
            {
                "name": "Rules",
                "entities": [
                    {
                        "name": "Thing",
                        "fields": [
                            {"name": "n", "type": "integer", "min": 0, "max": 10},
                            {"name": "price", "type": "decimal", "min": 0, "max": 19.99},
                            {"name": "day", "type": "date", "min": date(2024, 1, 1)},
                            {"name": "at", "type": "datetime", "min": "2024-01-01T01:00:00+01:00"},
                            {"name": "code", "pattern": "[A-Z]{3}", "min_length": 3},
                        ],
                    }
                ],
            }
        )
        .entities[0]
        .fields
    )
    assert [(f.minimum, f.maximum) for f in fields[:4]] == [
        (0, 10),
        (Decimal(0), Decimal("19.99")),
        (date(2024, 1, 1), None),
        (datetime(2024, 1, 1, tzinfo=UTC), None),
    ]
    assert (fields[4].pattern, fields[4].min_length) == ("[A-Z]{3}", 3)


class _Marker:
    """Stands in for a validator of the generated app in an evaluated annotation."""


def annotation(field: Any) -> Any:
    """The generated request model's annotation for ``field``, evaluated."""
    from typing import Annotated  # noqa: PLC0415 - the names the snippet uses

    from pydantic import AfterValidator, Field, StringConstraints  # noqa: PLC0415

    names = {
        "Annotated": Annotated,
        "AfterValidator": AfterValidator,
        "Field": Field,
        "StringConstraints": StringConstraints,
        "Decimal": Decimal,
        "date": date,
        "datetime": datetime,
        "UTC": UTC,
        "UtcDatetime": datetime,
        "no_nul": lambda v: v,
        # the app's own validators, as markers: the rules under test are the Field and
        # StringConstraints arguments, which pydantic applies whatever else is annotated
        "AMOUNT_MAX": Decimal("9999999999.99"),
        "Amount": _Marker(),
        "NoNul": _Marker(),
        "EmailAddress": _Marker(),
        "WebAddress": _Marker(),
    }
    return eval(rule_filters.ruled_schema_type(field, field.max_length or 100_000), names)  # noqa: S307 - our own snippet


def accepts(field: Any, value: object) -> bool:
    try:
        TypeAdapter(annotation(field)).validate_python(value)
    except PydanticValidationError:
        return False
    return True


def test_the_generated_annotations_hold_exactly_the_rules() -> None:
    fields = (
        model(
            {
                "name": "Rules",
                "entities": [
                    {
                        "name": "Thing",
                        "fields": [
                            {"name": "n", "type": "integer", "min": 1, "max": 3},
                            {"name": "price", "type": "decimal", "min": 0},
                            {"name": "day", "type": "date", "max": "2024-12-31"},
                            {"name": "code", "pattern": "[A-Z]{3}-[0-9]+", "min_length": 5},
                        ],
                    }
                ],
            }
        )
        .entities[0]
        .fields
    )
    n, price, day, code = fields
    assert [accepts(n, v) for v in (0, 1, 3, 4)] == [False, True, True, False]
    assert [accepts(price, v) for v in ("-0.01", "0", "0.00", "12.5")] == [False, True, True, True]
    assert [accepts(day, v) for v in ("2024-12-31", "2025-01-01")] == [True, False]
    assert [accepts(code, v) for v in ("ABC-1", "ABC-12", "ABC-", "xABC-12", "ABC-12\n")] == [
        True,
        True,
        False,
        False,
        False,
    ]


def field_of(**rules: Any) -> Any:
    return model(app(**rules)).entities[0].fields[0]


def test_form_inputs_carry_the_rules_a_browser_can_check() -> None:
    """min/max as the inputs write them (datetimes in UTC, to the minute when they can)."""
    assert rule_filters.html_attrs(field_of(type="integer", min=0, max=10)) == [
        ("min", "0"),
        ("max", "10"),
    ]
    assert rule_filters.html_attrs(field_of(type="date", min="2000-01-01")) == [
        ("min", "2000-01-01")
    ]
    moment = field_of(type="datetime", min="2000-01-01T02:00:00+02:00", max="2001-01-01T00:00:30Z")
    assert rule_filters.html_attrs(moment) == [
        ("min", "2000-01-01T00:00"),
        ("max", "2001-01-01T00:00:30"),
    ]
    text = field_of(min_length=2, pattern="[a-z]+")
    assert rule_filters.html_attrs(text) == [("minlength", "2"), ("pattern", "[a-z]+")]
    assert rule_filters.html_attrs(field_of()) == []


def test_samples_match_and_mismatches_do_not() -> None:
    for pattern in (r"[A-Z]{3}-\d{2,4}", r"(foo|bar)baz?", r"[^a-z]+", r"\w+@\w+\.com"):
        samples = matching(pattern, 1, 40, 8)
        assert samples, pattern
        assert all(re.fullmatch(pattern, s) and len(s) <= 40 for s in samples)
        wrong = mismatching(pattern, 1, 40, samples[0])
        assert wrong is not None
        assert not re.fullmatch(pattern, wrong)
    assert mismatching(".*", 1, 40, "a") is None


def test_samples_are_the_same_every_time() -> None:
    assert matching(r"[A-Z]{3}-\d+", 1, 20, 10) == matching(r"[A-Z]{3}-\d+", 1, 20, 10)


def test_long_constraint_names_fit_postgresql() -> None:
    name = rule_filters.constraint_name("t" * 40, "c" * 40, "min")
    assert len(name.encode()) == 63
    assert name != rule_filters.constraint_name("t" * 40, "c" * 41, "min")
    assert rule_filters.constraint_name("products", "price", "min") == "ck_products_price_min"


@pytest.mark.parametrize(
    "pattern",
    [
        r"((((((((((a?)*)*)*)*)*)*)*)*)*)*",
        r"((a{1000}){1000}){1000}",
        r"(a+)+b",
        r"(x|x|x|x)*y",
        r"(?:){100000000}",  # a repeat whose body writes nothing: it spends a step a round
    ],
)
def test_hostile_patterns_are_judged_within_a_bounded_walk(pattern: str) -> None:
    """The platform validates strangers' specs: no pattern makes it backtrack or loop.
    Matching is linear (pydantic's Rust regex) and every search for samples walks at most
    its step budget. Judged in a thread with a guard: a hang fails here, not at CI's limit
    (a guard, not a speed figure: the machine's load would decide one)."""
    found: list[list[tuple[str, str]]] = []
    judging = threading.Thread(
        target=lambda: found.append(judged(app(pattern=pattern, min_length=60, max_length=10_000))),
        daemon=True,
    )
    judging.start()
    judging.join(timeout=300)
    assert not judging.is_alive(), f"{pattern!r} is still being judged"
    assert {rule for _, rule in found[0]} <= {"pattern", "pattern-unsatisfiable"}


def judged(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The problems of a spec, none if it resolves."""
    try:
        model(data)
    except SpecError as error:
        return [(path, rule) for path, rule, _ in error.problems]
    return []
