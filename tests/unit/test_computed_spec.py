"""Computed fields and checkout stock in a spec: parsed with ast, every name checked, every
refusal naming the field and the rule."""

from __future__ import annotations

from typing import Any

import pytest

from appbuilder.enums import ProjectTemplate
from appbuilder.errors import SpecError
from appbuilder.spec.computed import ComputedError, parse
from appbuilder.spec.loading import build_spec
from appbuilder.spec.resolved import Aggregate, AppModel, Copied, Stock
from appbuilder.spec.validation import resolve


def shop(
    total: dict[str, Any] | None = None,
    price: dict[str, Any] | None = None,
    stock: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Products, orders and order items; ``total``/``price`` replace the computed fields."""
    checkout: dict[str, Any] = {"amount_field": "total", "status_field": "status"}
    if stock is not None:
        checkout["stock"] = stock
    return {
        "name": "Shop",
        "entities": [
            {
                "name": "Product",
                "fields": [
                    {"name": "name"},
                    {"name": "price", "type": "decimal", "min": 0},
                    {"name": "stock", "type": "integer", "default": 0},
                ],
            },
            {
                "name": "Purchase",
                "checkout": checkout,
                "fields": [
                    {"name": "note", "required": False},
                    {
                        "name": "status",
                        "type": "enum",
                        "values": ["pending", "paid"],
                        "default": "pending",
                    },
                    total
                    or {
                        "name": "total",
                        "type": "decimal",
                        "computed": "sum(purchase_items.quantity * purchase_items.unit_price)",
                    },
                ],
            },
            {
                "name": "Purchase Item",
                "fields": [
                    {"name": "quantity", "type": "integer", "min": 1},
                    price or {"name": "unit price", "type": "decimal", "computed": "product.price"},
                ],
                "relations": [
                    {"name": "purchase", "target": "Purchase", "required": True},
                    {"name": "product", "target": "Product", "required": True},
                ],
            },
        ],
    }


def resolved(data: dict[str, Any]) -> AppModel:
    return resolve(build_spec(data, template=ProjectTemplate.CUSTOM))


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as raised:
        resolved(data)
    return [(path, rule) for path, rule, _ in raised.value.problems]


#: A report adding up its purchases' totals: an aggregate of aggregates.
REPORTED: dict[str, Any] = {
    **shop(),
    "entities": [
        *shop()["entities"],
        {
            "name": "Report",
            "fields": [
                {"name": "title"},
                {"name": "sum", "type": "decimal", "computed": "sum(purchases.total)"},
            ],
            "relations": [{"name": "purchases", "kind": "one_to_many", "target": "Purchase"}],
        },
    ],
}


def test_an_aggregate_may_add_up_its_childrens_aggregates() -> None:
    """A report's sum reads its purchases' totals; the app recomputes up the chain."""
    report = resolve(build_spec(REPORTED, template=ProjectTemplate.CUSTOM)).entity("Report")
    computed = report.fields[-1].computed
    assert isinstance(computed, Aggregate)
    assert computed.paths == ("total",)


def test_an_order_total_and_a_copied_price_resolve() -> None:
    model = resolved(
        shop(
            stock={
                "items": "purchase_items",
                "quantity": "quantity",
                "product": "product",
                "field": "stock",
            }
        )
    )
    order = model.entity("Purchase")
    total = next(f for f in order.fields if f.names.snake == "total")
    assert total.computed == Aggregate(
        function="sum",
        children="purchase_items",
        child="PurchaseItem",
        link="purchase",
        expression="v0 * v1",
        paths=("quantity", "unit_price"),
    )
    assert total.default == 0  # a new order has no items
    assert [f.names.snake for f in order.writable_fields] == ["note"]
    item = model.entity("PurchaseItem")
    price = next(f for f in item.fields if f.names.snake == "unit_price")
    assert price.computed == Copied(link="product", target="Product", field="price")
    assert order.checkout is not None
    assert order.checkout.amount.computed == total.computed
    assert order.checkout.stock == Stock(
        children="purchase_items",
        child="PurchaseItem",
        link="purchase",
        quantity="quantity",
        product="product",
        target="Product",
        field="stock",
    )


@pytest.mark.parametrize(
    ("source", "expression", "paths"),
    [
        ("sum(items.a)", "v0", (("a",),)),
        ("sum(items.a * items.product.price)", "v0 * v1", (("a",), ("product", "price"))),
        ("max((items.a - 1) / 2)", "(v0 - 1) / 2", (("a",),)),
        ("min(-items.a + 1.5)", '(-v0) + Decimal("1.5")', (("a",),)),
        ("count(items)", None, ()),
        # the user's words, keywords too, read as the model's attributes
        ("sum(lines.from * lines.product.json)", "v0 * v1", (("from_",), ("product", "json_"))),
        ("max(lines.class_)", "v0", (("class_",),)),
    ],
)
def test_expressions_parse_to_python_over_their_values(
    source: str, expression: str | None, paths: tuple[tuple[str, ...], ...]
) -> None:
    parsed = parse(source)
    assert (parsed.expression, parsed.paths) == (expression, paths)


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os').system('x')",
        "sum(items.a, start=1)",
        "sum(items.a ** 2)",
        "sum(items.a) + 1",
        "avg(items.a)",
        "sum(items.a + others.b)",
        "sum(items.a.b.c)",
        "count(items.a)",
        "sum(items.a if items.b else 0)",
        "sum(items.a * 1e400)",
        "sum(items[0])",
        "items.a.b",
        "sum(",
        "lambda: 1",
    ],
)
def test_anything_but_the_two_forms_is_refused(source: str) -> None:
    with pytest.raises(ComputedError):
        parse(source)


TOTAL = "entities.Purchase.fields.total"
PRICE = "entities.PurchaseItem.fields.unit_price"


def total(computed: str, **extra: Any) -> dict[str, Any]:
    return shop(total={"name": "total", "type": "decimal", "computed": computed, **extra})


def with_field(extra: dict[str, Any]) -> dict[str, Any]:
    data = shop()
    data["entities"][1]["fields"].append(extra)
    return data


REFUSED: list[tuple[str, dict[str, Any], tuple[str, str]]] = [
    ("syntax", total("sum(purchase_items.quantity"), (f"{TOTAL}.computed", "syntax")),
    ("unknown collection", total("sum(lines.quantity)"), (f"{TOTAL}.computed", "unknown-name")),
    (
        "unknown child field",
        total("sum(purchase_items.weight)"),
        (f"{TOTAL}.computed", "unknown-name"),
    ),
    (
        "text child field",
        total("sum(purchase_items.product.name)"),
        (f"{TOTAL}.computed", "unknown-name"),
    ),
    (
        "unknown link",
        total("sum(purchase_items.maker.price)"),
        (f"{TOTAL}.computed", "unknown-name"),
    ),
    (
        "integer field reading decimals",
        with_field(
            {"name": "units", "type": "integer", "computed": "sum(purchase_items.unit_price)"}
        ),
        ("entities.Purchase.fields.units.computed", "type"),
    ),
    (
        "sent default",
        total("count(purchase_items)", default=5),
        (f"{TOTAL}.default", "not-applicable"),
    ),
    ("bounded", total("count(purchase_items)", min=0), (f"{TOTAL}.min", "not-applicable")),
    ("required max", total("max(purchase_items.quantity)"), (f"{TOTAL}.required", "required")),
    (
        "copy of a missing field",
        shop(price={"name": "unit price", "type": "decimal", "computed": "product.cost"}),
        (f"{PRICE}.computed", "unknown-name"),
    ),
    (
        "copy of another type",
        shop(price={"name": "unit price", "type": "integer", "computed": "product.price"}),
        (f"{PRICE}.computed", "unknown-name"),
    ),
    (
        "copy through a one_to_many",
        shop(price={"name": "unit price", "type": "decimal", "computed": "purchase.total"}),
        (f"{PRICE}.computed", "not-supported"),
    ),
    (
        "aggregate of an aggregate read through a link",
        {
            **REPORTED,
            "entities": [
                *REPORTED["entities"][:-1],
                {
                    **REPORTED["entities"][-1],
                    "fields": [
                        {"name": "title"},
                        {"name": "sum", "type": "decimal", "computed": "sum(notes.purchase.total)"},
                    ],
                    "relations": [
                        {"name": "notes", "kind": "one_to_many", "target": "Note"},
                    ],
                },
                {
                    "name": "Note",
                    "fields": [{"name": "text"}],
                    "relations": [{"name": "purchase", "target": "Purchase"}],
                },
            ],
        },
        ("entities.Report.fields.sum.computed", "not-supported"),
    ),
    (
        "nothing left to send",
        {
            "name": "Tally",
            "entities": [
                {
                    "name": "Box",
                    "fields": [{"name": "n", "type": "integer", "computed": "count(box_items)"}],
                },
                {
                    "name": "Box Item",
                    "fields": [{"name": "title"}],
                    "relations": [{"name": "box", "target": "Box"}],
                },
            ],
        },
        ("entities.Box.fields", "no-writable-field"),
    ),
    (
        "stock from an unknown collection",
        shop(
            stock={"items": "lines", "quantity": "quantity", "product": "product", "field": "stock"}
        ),
        ("entities.Purchase.checkout.stock.items", "unknown-name"),
    ),
    (
        "stock of a decimal field",
        shop(
            stock={
                "items": "purchase_items",
                "quantity": "quantity",
                "product": "product",
                "field": "price",
            }
        ),
        ("entities.Purchase.checkout.stock.field", "unknown-name"),
    ),
    (
        "stock counted in a decimal",
        shop(
            stock={
                "items": "purchase_items",
                "quantity": "unit_price",
                "product": "product",
                "field": "stock",
            }
        ),
        ("entities.Purchase.checkout.stock.quantity", "unknown-name"),
    ),
]


def _copy_of_an_optional_field(required: bool) -> dict[str, Any]:
    data = shop(price={"name": "unit price", "required": required, "computed": "product.blurb"})
    data["entities"][0]["fields"].append({"name": "blurb", "required": False})
    return data


def test_a_copy_of_a_field_that_may_be_empty_may_be_empty_too() -> None:
    """Its column would refuse the empty value it copies (and the app would not type-check)."""
    refused = problems(_copy_of_an_optional_field(required=True))
    assert (f"{PRICE}.computed", "required") in refused
    assert not [
        p for p in problems(_copy_of_an_optional_field(required=False)) if "unit_price" in p[0]
    ]


@pytest.mark.parametrize(("data", "expected"), [pytest.param(d, e, id=i) for i, d, e in REFUSED])
def test_bad_computed_fields_name_the_field_and_rule(
    data: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert expected in problems(data)


def test_the_ecommerce_preset_computes_totals_and_takes_stock() -> None:
    model = resolve(build_spec(template=ProjectTemplate.ECOMMERCE))
    order = model.entity("CustomerOrder")
    assert order.checkout is not None
    assert isinstance(order.checkout.amount.computed, Aggregate)
    assert order.checkout.stock is not None
    bounds = {
        (e.names.pascal, f.names.snake): (f.minimum, f.maximum)
        for e in model.entities
        for f in e.fields
        if f.minimum is not None
    }
    assert bounds[("Product", "price")] == (0, None)
    assert bounds[("Product", "stock")] == (0, None)
    assert bounds[("OrderItem", "quantity")] == (1, 1000)
