"""How the generated app keeps computed fields: which deletions and which recomputed rows
lead to which aggregates, however many levels away."""

from __future__ import annotations

from typing import Any

from appbuilder.enums import ProjectTemplate
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve
from appbuilder.stacks.fastapi.computed_plan import computed_plan

#: Regions hold categories hold products; baskets add up their items' prices, shops their
#: baskets' totals. Deleting a region cascades down to items in baskets.
CHAIN: dict[str, Any] = {
    "name": "Chain",
    "entities": [
        {"name": "Region", "fields": [{"name": "title"}]},
        {
            "name": "Shop",
            "fields": [
                {"name": "title"},
                {"name": "lifetime", "type": "decimal", "computed": "sum(baskets.total)"},
                {"name": "basket count", "type": "integer", "computed": "count(baskets)"},
            ],
            "relations": [
                {"name": "baskets", "kind": "one_to_many", "target": "Basket", "inverse": "shop"}
            ],
        },
        {
            "name": "Category",
            "fields": [{"name": "title"}],
            "relations": [{"name": "region", "target": "Region", "on_delete": "cascade"}],
        },
        {
            "name": "Product",
            "fields": [{"name": "title"}, {"name": "price", "type": "decimal"}],
            "relations": [
                {"name": "category", "target": "Category", "on_delete": "cascade", "required": True}
            ],
        },
        {
            "name": "Basket",
            "fields": [
                {"name": "label"},
                {
                    "name": "total",
                    "type": "decimal",
                    "computed": "sum(items.quantity * items.product.price)",
                },
            ],
            "relations": [
                {"name": "items", "kind": "one_to_many", "target": "Item", "inverse": "basket"}
            ],
        },
        {
            "name": "Item",
            "fields": [{"name": "quantity", "type": "integer"}],
            "relations": [
                {"name": "product", "target": "Product", "on_delete": "cascade", "required": True}
            ],
        },
    ],
}


def test_deletions_follow_cascades_to_every_aggregate_they_change() -> None:
    plan = computed_plan(resolve(build_spec(CHAIN, template=ProjectTemplate.CUSTOM)))
    loops = {
        name: [(takes.parent, takes.loop) for takes in child.takes]
        for name in ("Product", "Category", "Region")
        if (child := plan.child(name)) is not None
    }
    assert loops == {
        "Product": [("Basket", "for item in row.items")],
        "Category": [("Basket", "for step1 in row.products for item in step1.items")],
        "Region": [
            (
                "Basket",
                "for step1 in row.categories for step2 in step1.products for item in step2.items",
            )
        ],
    }


def test_rows_whose_aggregates_others_read_climb_after_recomputing() -> None:
    plan = computed_plan(resolve(build_spec(CHAIN, template=ProjectTemplate.CUSTOM)))
    assert [parent.entity.names.pascal for parent in plan.climbing] == ["Basket"]
