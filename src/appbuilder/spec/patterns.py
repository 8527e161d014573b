"""Strings that match a field's ``pattern``, and one that does not, found without running it.

The generated app's tests need valid values for a field with a pattern (and a value the
pattern refuses), and spec validation wants to know that some value of an allowed length
matches at all. Both walk Python's parse of the pattern (``re._parser``) with a seeded
random choice at each branch, repeat and class, and keep what ``re.fullmatch`` accepts, so
the result is deterministic: the same spec gives the same samples.
"""

from __future__ import annotations

import importlib
import random
import re
import string
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import StringConstraints, TypeAdapter, ValidationError
from pydantic_core import SchemaError as PydanticSchemaError

_parser: Any = importlib.import_module("re._parser")  # sre_parse's home since Python 3.11
_c: Any = importlib.import_module("re._constants")

#: Characters tried where a pattern allows "anything" or "anything but ...": printable and
#: plain, so samples survive JSON, HTML forms and Python literals unchanged.
_POOL = string.ascii_letters + string.digits + "-_.,:/ "
_CATEGORIES = {
    "CATEGORY_DIGIT": string.digits,
    "CATEGORY_NOT_DIGIT": string.ascii_letters + "-_ ",
    "CATEGORY_WORD": string.ascii_letters + string.digits + "_",
    "CATEGORY_NOT_WORD": "-. ,:/",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": string.ascii_letters + string.digits + "-_.",
}
#: Repeats without an upper limit stop this far past their minimum (or the field's
#: min_length, if longer).
_SPREAD = 6
#: Steps one search may take over all its attempts, whatever the pattern nests.
_STEPS = 300_000


def _matcher(pattern: str) -> Callable[[str], bool] | None:
    """Whole-value matching in linear time (Rust's ``regex``, through pydantic, as the app
    matches): Python's ``re`` would backtrack for ever on ``(a+)+b`` against many ``a``."""
    try:
        adapter: TypeAdapter[str] = TypeAdapter(
            Annotated[str, StringConstraints(pattern=f"^(?:{pattern})$")]
        )
    except PydanticSchemaError:
        return None

    def matches(value: str) -> bool:
        try:
            adapter.validate_python(value)
        except ValidationError:
            return False
        return True

    return matches


def matching(pattern: str, min_length: int, max_length: int, count: int) -> list[str]:
    """Up to ``count`` distinct values of an allowed length that ``pattern`` fully matches."""
    try:
        parsed = _parser.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return []
    matches = _matcher(pattern)
    if matches is None:
        return []
    rng = random.Random(pattern)  # noqa: S311 - repeatable samples, not secrets
    found: dict[str, None] = {}
    budget = _Budget(max_length, max(_SPREAD, min_length))
    for _attempt in range(count * 40):
        try:
            value = _render(parsed, rng, budget.attempt())
        except _TooLongError:
            continue
        except (_UnsupportedError, RecursionError):
            break
        fits = min_length <= len(value) <= max_length and "\x00" not in value
        if fits and matches(value):
            found.setdefault(value)
            if len(found) >= count:
                break
    return sorted(found, key=lambda v: (len(v), v))


def mismatching(pattern: str, min_length: int, max_length: int, near: str) -> str | None:
    """A value of an allowed length that ``pattern`` refuses, or None if it takes them all."""
    matches = _matcher(pattern)
    if matches is None:
        return None
    width = max(min_length, 1)
    candidates = [
        "~" * width,
        near + "~",
        "~" + near,
        near[:-1] + "~" if near else "~",
        "0" * width,
        "a" * width,
        "A" * width,
        " " * width,
        near + near,
    ]
    for value in candidates:
        if min_length <= len(value) <= max_length and not matches(value):
            return value
    return None


class _Budget:
    """How much one rendering may write and walk: nested repeats such as ``((a*)*)*``
    would otherwise grow (or loop over empty matches) without bound."""

    def __init__(self, limit: int, spread: int) -> None:
        self.limit = limit
        self.characters = limit
        self.spread = spread
        self.steps = _STEPS  # shared by every attempt of one search

    def attempt(self) -> _Budget:
        self.characters = self.limit
        return self

    def spend(self, characters: int) -> None:
        self.characters -= characters
        self.steps -= 1
        if self.steps < 0:
            raise _UnsupportedError("too much work")
        if self.characters < 0:
            raise _TooLongError


class _TooLongError(Exception):
    """This rendering outgrew the field's longest value; try another."""


class _UnsupportedError(Exception):
    """A construct the sampler does not walk (back-references, look-around)."""


_CHARACTERS = frozenset({"LITERAL", "NOT_LITERAL", "ANY", "IN"})


def _render(items: Any, rng: random.Random, budget: _Budget) -> str:
    return "".join(_one(op, arg, rng, budget) for op, arg in items)


def _repeat(sub: Any, rng: random.Random, budget: _Budget) -> str:
    budget.spend(0)
    return _render(sub, rng, budget)


def _one(op: Any, arg: Any, rng: random.Random, budget: _Budget) -> str:
    name = str(op)
    budget.spend(1 if name in _CHARACTERS else 0)
    if name in _CHARACTERS:
        return _character(name, arg, rng)
    if name in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
        low, high, sub = arg
        top = low + budget.spread if high is _c.MAXREPEAT else min(high, low + budget.spread)
        # a step per round: a body that writes nothing (``(?:){100000000}``) still spends
        return "".join(_repeat(sub, rng, budget) for _ in range(rng.randint(low, top)))
    if name == "SUBPATTERN":
        return _render(arg[-1], rng, budget)
    if name == "ATOMIC_GROUP":
        return _render(arg, rng, budget)
    if name == "BRANCH":
        return _render(rng.choice(arg[1]), rng, budget)
    if name == "AT":
        return ""
    raise _UnsupportedError(name)


def _character(name: str, arg: Any, rng: random.Random) -> str:
    if name == "LITERAL":
        return chr(arg)
    if name == "NOT_LITERAL":
        return rng.choice([c for c in _POOL if ord(c) != arg])
    if name == "ANY":
        return rng.choice(string.ascii_letters)
    return _in(arg, rng)


def _in(items: Any, rng: random.Random) -> str:
    allowed: list[str] = []
    ranges: list[tuple[int, int]] = []
    negate = False
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            allowed.append(chr(arg))
        elif name == "RANGE":
            ranges.append(arg)
            low, high = arg
            allowed.append(chr(rng.randint(low, min(high, low + 200))))
        elif name == "CATEGORY":
            allowed.extend(_CATEGORIES.get(str(arg), ""))
    if negate:
        refused = set(allowed)
        allowed = [
            c
            for c in _POOL
            if c not in refused and not any(low <= ord(c) <= high for low, high in ranges)
        ]
    if not allowed:
        raise _UnsupportedError("IN")
    return rng.choice(allowed)
