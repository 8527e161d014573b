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
from typing import Any

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
#: Repeats without an upper limit stop this far past their minimum.
_SPREAD = 6


def matching(pattern: str, min_length: int, max_length: int, count: int) -> list[str]:
    """Up to ``count`` distinct values of an allowed length that ``pattern`` fully matches."""
    try:
        parsed = _parser.parse(pattern)
        compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return []
    rng = random.Random(pattern)  # noqa: S311 - repeatable samples, not secrets
    found: dict[str, None] = {}
    for _attempt in range(count * 40):
        try:
            value = _render(parsed, rng)
        except (_UnsupportedError, RecursionError):
            return list(found)
        fits = min_length <= len(value) <= max_length and "\x00" not in value
        if fits and compiled.fullmatch(value):
            found.setdefault(value)
            if len(found) >= count:
                break
    return sorted(found, key=lambda v: (len(v), v))


def mismatching(pattern: str, min_length: int, max_length: int, near: str) -> str | None:
    """A value of an allowed length that ``pattern`` refuses, or None if it takes them all."""
    compiled = re.compile(pattern)
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
        if min_length <= len(value) <= max_length and not compiled.fullmatch(value):
            return value
    return None


class _UnsupportedError(Exception):
    """A construct the sampler does not walk (back-references, look-around)."""


def _render(items: Any, rng: random.Random) -> str:
    return "".join(_one(op, arg, rng) for op, arg in items)


def _one(op: Any, arg: Any, rng: random.Random) -> str:  # noqa: PLR0911 - one case per opcode
    name = str(op)
    if name == "LITERAL":
        return chr(arg)
    if name == "NOT_LITERAL":
        return rng.choice([c for c in _POOL if ord(c) != arg])
    if name == "ANY":
        return rng.choice(string.ascii_letters)
    if name == "IN":
        return _in(arg, rng)
    if name in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
        low, high, sub = arg
        top = low + _SPREAD if high is _c.MAXREPEAT else min(high, low + _SPREAD)
        return "".join(_render(sub, rng) for _ in range(rng.randint(low, top)))
    if name == "SUBPATTERN":
        return _render(arg[-1], rng)
    if name == "ATOMIC_GROUP":
        return _render(arg, rng)
    if name == "BRANCH":
        return _render(rng.choice(arg[1]), rng)
    if name == "AT":
        return ""
    raise _UnsupportedError(name)


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
