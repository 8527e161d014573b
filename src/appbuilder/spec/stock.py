"""A checkout's ``stock``: names resolved against the normalised model, each checked.

Runs after ``build`` (a one_to_many's collection is only known there) and after computed
fields are attached, so the checkout's amount field seen here is the computed one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from appbuilder.spec.model import AppSpec, FieldType, StockSpec
from appbuilder.spec.names import entity_names, is_wellformed, names_for
from appbuilder.spec.problems import Problem
from appbuilder.spec.resolved import AppEntity, AppModel, Checkout, Stock


def attach_stock(spec: AppSpec, model: AppModel) -> tuple[AppModel, list[Problem]]:
    asked = {
        entity_names(e.name).pascal: e.checkout.stock
        for e in spec.entities
        if e.checkout is not None and e.checkout.stock is not None and is_wellformed(e.name)
    }
    problems: list[Problem] = []
    entities = []
    for entity in model.entities:
        stock_spec = asked.get(entity.names.pascal)
        checkout = entity.checkout
        if stock_spec is None or checkout is None:
            entities.append(entity)
            continue
        path = f"entities.{entity.names.pascal}.checkout.stock"
        found = list(_problems(path, model, entity, checkout, stock_spec))
        problems += found
        stock = None if found else _stock(model, entity, stock_spec)
        entities.append(replace(entity, checkout=replace(checkout, stock=stock)))
    return replace(model, entities=tuple(entities)), problems


def _snake(name: str) -> str:
    return names_for(name).snake if is_wellformed(name) else name


def _stock(model: AppModel, entity: AppEntity, asked: StockSpec) -> Stock:
    link = next(c for c in entity.children if c.inverse.snake == _snake(asked.items))
    child = model.entity(link.owner)
    product = next(k for k in child.links if k.names.snake == _snake(asked.product))
    return Stock(
        children=link.inverse.snake,
        child=child.names.pascal,
        link=link.names.snake,
        quantity=_snake(asked.quantity),
        product=product.names.snake,
        target=product.target,
        field=_snake(asked.field),
    )


def _problems(
    path: str, model: AppModel, entity: AppEntity, checkout: Checkout, asked: StockSpec
) -> Iterable[Problem]:
    if checkout.status is None:
        yield Problem(path, "needs-status", "Stock is taken when a row is paid: set status_field.")
        return
    link = next((c for c in entity.children if c.inverse.snake == _snake(asked.items)), None)
    if link is None:
        known = ", ".join(sorted(c.inverse.snake for c in entity.children)) or "none"
        yield Problem(
            f"{path}.items",
            "unknown-name",
            f"{asked.items!r} is not a one_to_many of {entity.names.pascal} ({known}).",
        )
        return
    child = model.entity(link.owner)
    if not _integer(child, _snake(asked.quantity)):
        yield Problem(
            f"{path}.quantity",
            "unknown-name",
            f"{asked.quantity!r} is not an integer field of {child.names.pascal}.",
        )
    product = next((k for k in child.links if k.names.snake == _snake(asked.product)), None)
    if product is None or not product.required:
        yield Problem(
            f"{path}.product",
            "unknown-name",
            f"{asked.product!r} is not a required many_to_one link of {child.names.pascal}.",
        )
    elif not _integer(model.entity(product.target), _snake(asked.field)):
        yield Problem(
            f"{path}.field",
            "unknown-name",
            f"{asked.field!r} is not an integer field of {product.target}.",
        )


def _integer(entity: AppEntity, name: str) -> bool:
    return any(
        f.names.snake == name and f.type is FieldType.INTEGER and f.computed is None
        for f in entity.fields
    )
