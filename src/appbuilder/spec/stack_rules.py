"""What spec validation needs from a stack, and the stacks' rules by name.

The spec layer sits below the stacks and never imports one: each stack hands its rules
here when it is registered (``stacks.registry.register``). The built-in stacks are loaded
by module name on the first lookup, as a plugin system loads its plugins (an entry-point
group in ``pyproject.toml`` could replace ``BUILTIN_STACKS``), so validating a spec works
whether or not the caller has imported the stacks.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from appbuilder.spec.model import FieldSpec


@dataclass(frozen=True)
class ReservedNames:
    """Names the stack's generated code already uses, by where a user's name would clash.

    Spec validation refuses a name in one of these sets with the reason the set stands for
    (see ``spec.name_rules``); a stack with fewer internals reserves fewer names.
    """

    sql_words: frozenset[str] = frozenset()
    attributes: frozenset[str] = frozenset()
    annotations: frozenset[str] = frozenset()
    shadowed: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    modules: frozenset[str] = frozenset()
    tables_and_urls: frozenset[str] = frozenset()
    feature_tables: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    feature_classes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class StackRules(Protocol):
    """A stack's name, the names its generated code uses, and the values its app accepts."""

    name: str
    reserved: ReservedNames

    def refuses(self, item: FieldSpec, value: object) -> str | None:
        """Why the generated app would refuse ``value`` for ``item``, or None."""


#: The module that registers the stacks shipped with the builder.
BUILTIN_STACKS = "appbuilder.stacks.registry"

_RULES: dict[str, StackRules] = {}


def register_rules(rules: StackRules) -> None:
    _RULES[rules.name] = rules


def _load_builtins() -> None:
    importlib.import_module(BUILTIN_STACKS)  # registers its stacks on import


def rules_for(name: str) -> StackRules | None:
    if name not in _RULES:
        _load_builtins()
    return _RULES.get(name)


def known_stacks() -> tuple[str, ...]:
    _load_builtins()
    return tuple(sorted(_RULES))
