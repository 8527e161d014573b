"""Rules for actions written in words: unique, well-formed names that become route paths
(``POST /api/<entity>/{id}/<action>``) and module-level function names in custom code."""

from __future__ import annotations

from collections.abc import Iterable

from appbuilder.spec.model import EntitySpec
from appbuilder.spec.names import is_wellformed, names_for
from appbuilder.spec.problems import Problem

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
