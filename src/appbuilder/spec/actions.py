"""Rules for what is written in words: actions get unique, well-formed names that become
route paths (``POST /api/<entity>/{id}/<action>``) and function names in custom code; rules
are unique, few enough to implement and check in one answer, and storable text."""

from __future__ import annotations

from collections.abc import Iterable

from appbuilder.rules import text_problem
from appbuilder.spec.model import EntitySpec
from appbuilder.spec.names import is_wellformed, names_for
from appbuilder.spec.problems import Problem

#: rules in words per entity: each becomes a check and its tests in one model answer
MAX_RULES = 20

#: path segments the generated JSON API already answers under an entity's row
TAKEN = frozenset({"checkout"})


def check_actions(path: str, entity: EntitySpec) -> Iterable[Problem]:
    seen: dict[str, str] = {}
    for action in entity.actions:
        where = f"{path}.actions.{action.name}"
        if not is_wellformed(action.name):
            yield Problem(
                f"{where}.name",
                "name-format",
                f"{action.name!r} must start with a letter and hold only letters, digits, "
                "spaces and underscores.",
            )
            continue
        snake = names_for(action.name).snake
        if snake in seen:
            yield Problem(
                f"{where}.name",
                "duplicate",
                f"{action.name!r} is declared twice (as {seen[snake]!r}).",
            )
        elif snake in TAKEN:
            yield Problem(
                f"{where}.name", "reserved", f"{action.name!r} is a route the app already has."
            )
        seen[snake] = action.name


def check_rules(path: str, entity: EntitySpec) -> Iterable[Problem]:
    """Rules in words: at most ``MAX_RULES``, none twice, no text a database refuses."""
    if len(entity.rules) > MAX_RULES:
        yield Problem(
            f"{path}.rules",
            "too-many",
            f"{len(entity.rules)} rules; at most {MAX_RULES} per entity.",
        )
    seen: set[str] = set()
    for number, rule in enumerate(entity.rules):
        where = f"{path}.rules.{number}"
        problem = text_problem(rule)
        if problem is not None:
            yield Problem(where, "text", f"The rule {problem}.")
        elif rule.casefold() in seen:
            yield Problem(where, "duplicate", f"{rule!r} is written twice.")
        seen.add(rule.casefold())
