"""A shop whose links cascade on delete still keeps its paid orders.

The ECOMMERCE preset restricts the deletion of an order's customer and of an item's product;
left to the default for required links (cascade), deleting the customer took their paid
orders along, items and all. The generated app refuses such a delete (409) whatever the
link does; its payments suite tests that for each cascading link, here on SQLite and, when
configured, on PostgreSQL (only those tests, to keep CI short).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appbuilder.agents.orchestrator import Orchestrator
from appbuilder.enums import ProjectTemplate
from appbuilder.generator.writer import write_files
from appbuilder.spec.loading import build_spec, preset
from appbuilder.spec.model import OnDelete
from appbuilder.spec.validation import resolve
from tests.integration.generator.conftest import generated_suite_passes

#: The tests the payments suite has for the two cascading links: a paid order, one whose
#: checkout is open, and another user's paid order (not named to the one deleting); a
#: product's deletion and an order's confirmation take their locks in the same order.
CASCADE_TESTS = (
    "test_deleting_the_customer_of_a_paid_customer_order_is_refused",
    "test_deleting_the_product_of_a_paid_customer_orders_order_item_is_refused",
    "test_deleting_the_customer_of_a_customer_order_being_paid_is_refused",
    "test_deleting_the_product_of_a_customer_order_being_paid_is_refused",
    "test_deleting_the_customer_of_another_users_paid_customer_order_names_no_customer_order",
    "test_deleting_the_product_of_a_customer_order_being_confirmed_waits_its_turn",
)


#: A test added to the generated suite: categories form a tree whose links cascade, and a
#: product's category link cascades too; deleting the root takes a paid order's product
#: three levels down, so it is refused (the walk follows a self-link with a recursive query).
TREE_TEST = """
from fastapi.testclient import TestClient

from tests.factories import admin_token
from tests.fakes import FakeStripe
from tests.test_payments import paid_customer_order, shop, stripe_api

__all__ = ["shop", "stripe_api"]


def test_deleting_a_category_tree_holding_a_paid_orders_product_is_refused(
    shop: TestClient, stripe_api: FakeStripe
) -> None:
    admin = TestClient(shop.app)
    admin.headers["Authorization"] = f"Bearer {admin_token(admin)}"
    root = admin.post("/api/categories", json={"name": "root"}).json()
    child = admin.post("/api/categories", json={"name": "child", "parent_id": root["id"]}).json()
    leaf = admin.post("/api/categories", json={"name": "leaf", "parent_id": child["id"]}).json()
    row = paid_customer_order(shop, stripe_api)
    items = shop.get("/api/order-items", params={"order_id": row["id"]}).json()["items"]
    moved = admin.patch(f"/api/products/{items[0]['product_id']}", json={"category_id": leaf["id"]})
    assert moved.status_code == 200, moved.text
    refused = admin.delete(f"/api/categories/{root['id']}")
    assert refused.status_code == 409, refused.text
    assert f"what order {row['id']} holds" in refused.json()["detail"]
    assert admin.get(f"/api/categories/{leaf['id']}").status_code == 200
    other = admin.post("/api/categories", json={"name": "other"}).json()
    below = admin.post("/api/categories", json={"name": "below", "parent_id": other["id"]}).json()
    assert admin.delete(f"/api/categories/{other['id']}").status_code == 204
    assert admin.get(f"/api/categories/{below['id']}").status_code == 404
"""


def cascading_shop() -> dict[str, Any]:
    """The ECOMMERCE preset with its orders' and order items' links left to cascade, and
    categories in a tree whose links (and products' links to them) cascade."""
    data = preset(ProjectTemplate.ECOMMERCE)
    data["template"] = ProjectTemplate.CUSTOM.value
    for entity in data["entities"]:
        if entity["name"] in ("CustomerOrder", "OrderItem"):
            for relation in entity["relations"]:
                relation.pop("on_delete", None)
        if entity["name"] == "Category":
            parent = {"name": "parent", "target": "Category", "on_delete": "cascade"}
            entity.setdefault("relations", []).append(parent)
        if entity["name"] == "Product":
            for relation in entity["relations"]:
                if relation["name"] == "category":
                    relation["on_delete"] = "cascade"
    return data


def test_a_shop_whose_order_links_cascade_keeps_its_paid_orders(tmp_path: Path) -> None:
    spec = build_spec(cascading_shop())
    model = resolve(spec)
    assert model.entity("CustomerOrder").links[0].on_delete is OnDelete.CASCADE
    files = Orchestrator().generate(spec, model, verify=False).files
    suite = files["tests/test_payments.py"].decode()
    for test in CASCADE_TESTS:
        assert f"def {test}(" in suite
    write_files(files, tmp_path)
    (tmp_path / "tests" / "test_category_tree.py").write_text(TREE_TEST)
    outputs = generated_suite_passes(
        tmp_path,
        "tests/test_payments.py",
        "tests/test_category_tree.py",
        "-k",  # only those: the rest is the ECOMMERCE suite's, run elsewhere
        " or ".join((*CASCADE_TESTS, "category_tree")),
    )
    for output in outputs:
        assert f"{len(CASCADE_TESTS) + 1} passed" in output, output[-6000:]
