"""What spec validation needs from a stack, and the stacks' rules by name.

The spec layer sits below the stacks and never imports one. Stacks are plugins: each is
an entry point of the group ``appbuilder.stacks`` (the built-in ones are declared in
``pyproject.toml``; another package can add its own), loaded on the first lookup and kept
here, so validating a spec works whether or not the caller has imported the stacks.
``stacks.registry`` hands out the same objects as stacks, and can register more at run
time (tests do).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Protocol

from appbuilder.spec.model import FieldSpec, FieldType


@dataclass(frozen=True)
class ReservedNames:
    """Names the stack's generated code already uses, by where a user's name would clash.

    Spec validation refuses a name in one of these sets with the reason the set stands for
    (see ``spec.name_rules``); a stack with fewer internals reserves fewer names.
    """

    attributes: frozenset[str] = frozenset()
    tables_and_urls: frozenset[str] = frozenset()
    feature_tables: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    feature_classes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class StackRules(Protocol):
    """A stack's name, the names its generated code uses, and the values its app accepts."""

    name: str
    reserved: ReservedNames

    def refuses(self, item: FieldSpec, value: object) -> str | None:
        """Why the generated app would refuse ``value`` for ``item``, or None."""

    def refuses_bound(self, kind: FieldType, value: object) -> str | None:
        """Why the app's column of this kind could not hold ``value`` (a ``min``/``max``)."""

    def refuses_pattern(self, pattern: str) -> str | None:
        """Why the app's regex engine would refuse ``pattern``, or None."""


#: The entry-point group stacks are declared in (``[project.entry-points."appbuilder.stacks"]``).
STACK_ENTRY_POINTS = "appbuilder.stacks"

_RULES: dict[str, StackRules] = {}
_LOADED: list[bool] = []  # [True] once the entry points are read
#: threads of one worker validate specs at once: one of them loads, the others wait for it
_LOADING = threading.Lock()


def register_rules(rules: StackRules) -> None:
    _RULES[rules.name] = rules


def _load_plugins() -> None:
    """Every installed stack, once: each entry point names a class, built with no arguments."""
    if _LOADED:
        return
    with _LOADING:
        if _LOADED:
            return
        for point in entry_points(group=STACK_ENTRY_POINTS):
            if point.name not in _RULES:
                register_rules(point.load()())
        _LOADED.append(True)


def rules_for(name: str) -> StackRules | None:
    _load_plugins()
    return _RULES.get(name)


def known_stacks() -> tuple[str, ...]:
    _load_plugins()
    return tuple(sorted(_RULES))
