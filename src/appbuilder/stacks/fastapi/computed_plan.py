"""What ``app/services/computed.py`` holds, worked out once from the model.

The blueprint only prints this plan: per parent, the functions that recompute its
aggregates; per child, the links whose parents follow it and the values it copies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from appbuilder.spec.model import FieldType, OnDelete
from appbuilder.spec.resolved import Aggregate, AppEntity, AppField, AppModel, Copied


@dataclass(frozen=True)
class Leaf:
    var: str
    source: str
    nullable: bool
    #: the same value in the API's JSON (``item["quantity"]``), for the generated tests
    json: str


@dataclass(frozen=True)
class Load:
    """A many_to_one target read by a term: ``var = session.get(model, item.<link>_id)``."""

    var: str
    model: str
    link: str
    required: bool


@dataclass(frozen=True)
class Term:
    """One aggregate field of a parent: its function and its per-child value."""

    parent: AppEntity
    field: AppField
    aggregate: Aggregate
    child: AppEntity
    function_name: str
    loads: tuple[Load, ...]
    leaves: tuple[Leaf, ...]
    expression: str | None
    decimal: bool

    @property
    def json_expression(self) -> str | None:
        """The expression over the JSON values, in decimals: what the tests expect."""
        if self.aggregate.expression is None:
            return None
        return re.sub(r"\bv(\d+)\b", r"Decimal(str(v\1))", self.aggregate.expression)

    @property
    def direct(self) -> list[str]:
        """The child's own fields the expression reads."""
        return [p for p in self.aggregate.paths if "." not in p]

    @property
    def copied_price(self) -> tuple[AppField, AppField, Copied] | None:
        """For ``sum(items.count * items.price)`` with ``price`` copied from the item's
        target: (count, price, copy), the shop case the generated tests walk through."""
        if not (self.decimal and self.aggregate.function == "sum"):
            return None
        if self.aggregate.expression != "v0 * v1" or self.loads:
            return None
        fields = {f.names.snake: f for f in self.child.fields}
        count, price = (fields[p] for p in self.aggregate.paths)
        copied = price.computed
        low = count.minimum if isinstance(count.minimum, int) else 0
        high = count.maximum if isinstance(count.maximum, int) else 3
        fits = count.type is FieldType.INTEGER and count.computed is None and low <= 3 <= high
        if fits and isinstance(copied, Copied) and price.type is FieldType.DECIMAL:
            return count, price, copied
        return None


@dataclass
class Parent:
    entity: AppEntity
    terms: list[Term] = field(default_factory=list)


@dataclass(frozen=True)
class Copy:
    field: AppField
    #: the target's attribute copied (``from_``) and its key in the API's JSON (``from``)
    source: str
    source_key: str


@dataclass
class CopyLink:
    link: str
    model: str
    required: bool
    copies: list[Copy] = field(default_factory=list)


@dataclass(frozen=True)
class Hop:
    """One step down from a deleted row: the rows of ``entity`` in its ``collection``,
    linked to it by their ``link``."""

    collection: str
    entity: str
    link: str


@dataclass(frozen=True)
class Takes:
    """Deleting a row of this entity deletes (cascade) or unlinks (set_null) the rows at the
    end of ``hops`` (one step, or more through cascades: a category's products' order items),
    children of an aggregate: their parents (``link`` on them, of entity ``parent``) are
    recomputed after the deletion."""

    hops: tuple[Hop, ...]
    link: str
    parent: str
    term: Term

    @property
    def loop(self) -> str:
        """The comprehension's loops from the deleted ``row`` to each child ``item``."""
        names = [f"step{index}" for index in range(1, len(self.hops))] + ["item"]
        source, loops = "row", []
        for hop, name in zip(self.hops, names, strict=True):
            loops.append(f"for {name} in {source}.{hop.collection}")
            source = name
        return " ".join(loops)


@dataclass
class Child:
    """An entity whose changes computed fields follow: as an aggregate's child (its
    ``parents`` links), through its copies, or by what deleting one of its rows takes along."""

    entity: AppEntity
    parents: list[tuple[str, str]] = field(default_factory=list)  # (link snake, parent pascal)
    copies: list[CopyLink] = field(default_factory=list)
    takes: list[Takes] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    parents: tuple[Parent, ...]
    children: tuple[Child, ...]

    @property
    def models(self) -> list[str]:
        names = {p.entity.names.pascal for p in self.parents} | {
            c.entity.names.pascal for c in self.children
        }
        names |= {load.model for p in self.parents for t in p.terms for load in t.loads}
        names |= {link.model for c in self.children for link in c.copies}
        return sorted(names)

    def child(self, pascal: str) -> Child | None:
        return next((c for c in self.children if c.entity.names.pascal == pascal), None)

    @property
    def climbing(self) -> list[Parent]:
        """Parents whose aggregates other aggregates read (an order's total in its customer's
        lifetime value): after they are recomputed, so are the rows above them."""
        read = {
            term.child.names.pascal
            for parent in self.parents
            for term in parent.terms
            if any(
                isinstance(f.computed, Aggregate) and f.names.snake in term.direct
                for f in term.child.fields
            )
        }
        return [p for p in self.parents if p.entity.names.pascal in read]


def computed_plan(app: AppModel) -> Plan:
    parents: dict[str, Parent] = {}
    children: dict[str, Child] = {}
    for entity in app.entities:
        for item in entity.fields:
            if isinstance(item.computed, Aggregate):
                term = _term(app, entity, item, item.computed)
                parents.setdefault(entity.names.pascal, Parent(entity)).terms.append(term)
                child = children.setdefault(term.child.names.pascal, Child(term.child))
                pair = (item.computed.link, entity.names.pascal)
                if pair not in child.parents:
                    child.parents.append(pair)
            elif isinstance(item.computed, Copied):
                child = children.setdefault(entity.names.pascal, Child(entity))
                link = next(k for k in entity.links if k.names.snake == item.computed.link)
                group = next((g for g in child.copies if g.link == link.names.snake), None)
                if group is None:
                    group = CopyLink(link.names.snake, link.target, link.required)
                    child.copies.append(group)
                target = app.entity(link.target)
                key = next(
                    f.names.key for f in target.fields if f.names.snake == item.computed.field
                )
                group.copies.append(Copy(item, item.computed.field, key))
    for parent in parents.values():
        for term in parent.terms:
            _taken(app, term, children)
    ordered = [children[e.names.pascal] for e in app.entities if e.names.pascal in children]
    return Plan(tuple(parents.values()), tuple(ordered))


def _term(app: AppModel, parent: AppEntity, item: AppField, aggregate: Aggregate) -> Term:
    child = app.entity(aggregate.child)
    links = {link.names.snake: link for link in child.links}
    loads: dict[str, Load] = {}
    leaves = []
    for index, path in enumerate(aggregate.paths):
        *via, name = path.split(".")
        if via:
            link = links[via[0]]
            load = loads.setdefault(
                link.names.snake,
                Load(f"target{len(loads)}", link.target, link.names.snake, link.required),
            )
            source_field = next(f for f in app.entity(link.target).fields if f.names.snake == name)
            leaves.append(
                Leaf(
                    f"v{index}",
                    f"{load.var}.{name}",
                    not source_field.required,
                    f'{load.var}["{source_field.names.key}"]',  # the API's key: ``from``
                )
            )
        else:
            source_field = next(f for f in child.fields if f.names.snake == name)
            leaves.append(
                Leaf(
                    f"v{index}",
                    f"item.{name}",
                    not source_field.required,
                    f'item["{source_field.names.key}"]',
                )
            )
    decimal = item.type is FieldType.DECIMAL
    expression = aggregate.expression
    if expression is not None and decimal:
        expression = re.sub(r"\bv(\d+)\b", r"Decimal(v\1)", expression)
    return Term(
        parent=parent,
        field=item,
        aggregate=aggregate,
        child=child,
        function_name=f"_{parent.names.snake}_{item.names.snake}",
        loads=tuple(loads.values()),
        leaves=tuple(leaves),
        expression=expression,
        decimal=decimal,
    )


def _taken(app: AppModel, term: Term, children: dict[str, Child]) -> None:
    """Links into an aggregate's children whose target's deletion changes the aggregate:
    cascade deletes children; set_null empties a link the expression reads through. A
    deletion that cascades further up (a category deleting its products, which delete their
    order items) changes it too, however many cascades away."""
    through = {path.split(".")[0] for path in term.aggregate.paths if "." in path}
    for link in term.child.links:
        if link.names.snake == term.aggregate.link:
            continue  # deleting the parent itself: nothing left to recompute
        cascade = link.on_delete is OnDelete.CASCADE
        if not cascade and not (
            link.on_delete is OnDelete.SET_NULL and link.names.snake in through
        ):
            continue
        hop = Hop(link.inverse.snake, term.child.names.pascal, link.names.snake)
        _climb(app, term, children, link.target, (hop,))


def _climb(
    app: AppModel, term: Term, children: dict[str, Child], deleted: str, hops: tuple[Hop, ...]
) -> None:
    """``deleted``'s rows take the children at the end of ``hops`` along; so do the rows
    whose deletion cascades to ``deleted``'s."""
    holder = children.setdefault(deleted, Child(app.entity(deleted)))
    takes = Takes(hops, term.aggregate.link, term.parent.names.pascal, term)
    key = (takes.hops, takes.link, takes.parent)
    if all((t.hops, t.link, t.parent) != key for t in holder.takes):
        holder.takes.append(takes)
    visited = {hop.entity for hop in hops} | {term.parent.names.pascal}
    for link in app.entity(deleted).links:
        if link.on_delete is OnDelete.CASCADE and link.target not in visited | {deleted}:
            up = Hop(link.inverse.snake, deleted, link.names.snake)
            _climb(app, term, children, link.target, (up, *hops))
