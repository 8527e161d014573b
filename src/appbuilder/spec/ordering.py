"""The order rows can be created in: every entity after the entities its links point at."""

from __future__ import annotations

from appbuilder.spec.model import AppSpec, EntitySpec, RelationKind, RelationSpec
from appbuilder.spec.names import names_for


def links_of(spec: AppSpec) -> list[tuple[EntitySpec, RelationSpec, EntitySpec]]:
    """Every many-to-one link as (owner, relation, target), one_to_many turned around."""
    by_snake = {names_for(e.name).snake: e for e in spec.entities}
    links = []
    for entity in spec.entities:
        for relation in entity.relations:
            target = by_snake[names_for(relation.target).snake]
            if relation.kind is RelationKind.MANY_TO_ONE:
                links.append((entity, relation, target))
            elif relation.kind is RelationKind.ONE_TO_MANY:
                links.append((target, relation, entity))
    return links


class CycleError(Exception):
    def __init__(self, entity: str) -> None:
        self.entity = entity


def _required(relation: RelationSpec) -> bool:
    return relation.kind is RelationKind.MANY_TO_ONE and relation.required


def creation_order(spec: AppSpec) -> list[EntitySpec]:
    """Entities sorted so each comes after its link targets; declared order breaks ties.

    Links may form a cycle (a department's head is an employee, an employee's department a
    department) as long as one link in it is optional: that entity comes first, its rows are
    created with the link empty and the link set later (``deferred_links``). A cycle of
    required links leaves no row that could be created first: ``CycleError``.
    """
    return _ordered(spec)[0]


def deferred_links(spec: AppSpec) -> frozenset[int]:
    """``id()`` of the relations whose target's table comes after the owner's: their foreign
    keys are added once both tables exist."""
    return _ordered(spec)[1]


def _ordered(spec: AppSpec) -> tuple[list[EntitySpec], frozenset[int]]:
    hard: dict[str, set[str]] = {e.name: set() for e in spec.entities}
    soft: dict[str, set[str]] = {e.name: set() for e in spec.entities}
    links = [(o, r, t) for o, r, t in links_of(spec) if o is not t]
    for owner, relation, target in links:
        (hard if _required(relation) else soft)[owner.name].add(target.name)
    ordered: list[EntitySpec] = []
    placed: set[str] = set()
    while len(ordered) < len(spec.entities):
        waiting = [e for e in spec.entities if e.name not in placed]
        ready = [e for e in waiting if hard[e.name] | soft[e.name] <= placed]
        # in a cycle: the first entity whose only missing targets are optional goes first
        ready = ready or [e for e in waiting if hard[e.name] <= placed]
        if not ready:
            raise CycleError(waiting[0].name)
        ordered.append(ready[0])
        placed.add(ready[0].name)
    position = {e.name: n for n, e in enumerate(ordered)}
    deferred = frozenset(
        id(relation)
        for owner, relation, target in links
        if position[target.name] > position[owner.name]
    )
    return ordered, deferred
