"""The spec judges a default as the generated app judges a client's value: same checks."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError as PydanticValidationError

from appbuilder.enums import ProjectTemplate
from appbuilder.errors import SpecError
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve
from appbuilder.stacks.fastapi import values
from appbuilder.stacks.registry import stack_for

URLS = ["http://a", "https://example.com/x?y=1", "javascript:alert(1)", "ftp://x", "http://", "a"]
EMAILS = ["a@example.com", "Bob@Example.COM", "a@b", "not-an-email", "a@localhost", ""]


def generated_validators() -> dict[str, Any]:
    """The generated app's own ``app/validators.py``, rendered and executed."""
    spec = build_spec(template=ProjectTemplate.API)
    source = stack_for("fastapi").render("backend/validators.py.jinja", {"app": resolve(spec)})
    namespace: dict[str, Any] = {}
    exec(compile(source, "validators.py", "exec"), namespace)  # noqa: S102 - our own blueprint
    return namespace


def accepts(check: Callable[[str], str], value: str) -> bool:
    try:
        check(value)
    except (ValueError, PydanticValidationError):
        return False
    return True


@pytest.mark.parametrize(("name", "samples"), [("web_address", URLS), ("email_address", EMAILS)])
def test_the_stack_checks_values_as_the_generated_app_does(name: str, samples: list[str]) -> None:
    app_check = generated_validators()[name]
    ours = getattr(values, name)
    for value in samples:
        assert accepts(ours, value) == accepts(app_check, value), value


def default(kind: str, value: object) -> dict[str, Any]:
    return {
        "name": "D",
        "entities": [{"name": "Site", "fields": [{"name": "x", "type": kind, "default": value}]}],
    }


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        ("url", "http://a", True),  # the app's AnyHttpUrl accepts it, so the spec does too
        ("url", "javascript:alert(1)", False),
        ("email", "a@localhost", False),
        ("integer", 2**31 - 1, True),
        ("integer", 2**31, False),
        ("decimal", Decimal("9999999999.99"), True),
        ("decimal", 10**10, False),
        ("string", "x" * 200, True),
        ("string", "x" * 201, False),
    ],
)
def test_defaults_are_judged_by_the_apps_types(kind: str, value: object, ok: bool) -> None:
    spec = build_spec(default(kind, value), template=ProjectTemplate.CUSTOM)
    if ok:
        resolve(spec)
        return
    with pytest.raises(SpecError) as raised:
        resolve(spec)
    assert [(p.path, p.rule) for p in raised.value.problems] == [  # type: ignore[attr-defined]
        ("entities.Site.fields.x.default", "default-value")
    ]
