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


def creation_order(spec: AppSpec) -> list[EntitySpec]:
    """Entities sorted so each comes after its link targets; declared order breaks ties."""
    depends: dict[str, set[str]] = {e.name: set() for e in spec.entities}
    for owner, _relation, target in links_of(spec):
        if owner is not target:
            depends[owner.name].add(target.name)
    ordered: list[EntitySpec] = []
    placed: set[str] = set()
    while len(ordered) < len(spec.entities):
        ready = [e for e in spec.entities if e.name not in placed and depends[e.name] <= placed]
        if not ready:
            stuck = next(e.name for e in spec.entities if e.name not in placed)
            raise CycleError(stuck)
        ordered.append(ready[0])
        placed.add(ready[0].name)
    return ordered
