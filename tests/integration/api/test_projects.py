"""Projects through HTTP: create, read (seed shape), update, lifecycle, list, delete."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, update

from appbuilder.db.models import Project
from appbuilder.db.session import make_session_factory, transaction
from appbuilder.enums import ProjectStatus
from tests.factories import make_generation, spaced_times
from tests.integration.api.conftest import Api


def test_create_read_update_delete(api: Api) -> None:
    owner = api.account()
    created = api.post(
        "/api/projects",
        json={
            "name": "  Plant shop ",
            "template": "ECOMMERCE",
            "description": "Sells plants",
            "config": {"currency": "EUR", "nested": {"a": [1, 2]}},
            "features": ["payments", "auth", "auth"],
        },
        headers=owner.headers,
    )
    assert created.status_code == 201
    project = created.json()
    assert project["name"] == "Plant shop"
    assert project["status"] == "DRAFT"
    assert project["features"] == ["auth", "payments"]
    # the system owns GENERATING, READY and ERROR: nothing to set by hand, generate next
    assert project["allowed_next_statuses"] == []
    assert project["next_actions"] == ["generate"]
    assert project["user_id"] == owner.id
    path = f"/api/projects/{project['id']}"

    detail = api.get(path, headers=owner.headers).json()
    assert detail["user"] == {"id": owner.id, "email": owner.email, "name": "Test"}
    assert detail["generations"] == {"items": [], "next_cursor": None}
    assert detail["config"] == {"currency": "EUR", "nested": {"a": [1, 2]}}

    patched = api.patch(
        path, json={"name": "Plant shop EU", "features": ["search"]}, headers=owner.headers
    )
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["features"]) == ("Plant shop EU", ["search"])
    assert patched.json()["updated_at"] > project["updated_at"]

    assert api.delete(path, headers=owner.headers).status_code == 204
    assert api.get(path, headers=owner.headers).status_code == 404


def test_lifecycle_follows_the_state_machine(api: Api, engine: Engine) -> None:
    owner = api.account()
    path = f"/api/projects/{api.project(owner)['id']}"

    def move(status: str) -> int:
        return api.patch(path, json={"status": status}, headers=owner.headers).status_code

    illegal = api.patch(path, json={"status": "DEPLOYED"}, headers=owner.headers)
    assert illegal.status_code == 409
    error = illegal.json()["error"]
    assert error["details"]["allowed_next"] == []
    assert error["details"]["next_actions"] == ["generate"]
    assert "allowed next: none by hand; you can: generate" in error["message"]
    assert move("ERROR") == 409  # failures set ERROR

    assert move("GENERATING") == 409  # runs own GENERATING: POST .../generate
    with engine.begin() as connection:  # as a completed run leaves it
        connection.execute(
            update(Project).where(Project.id == path.rsplit("/", 1)[1]).values(status="READY")
        )
    ready = api.get(path, headers=owner.headers).json()
    assert (ready["allowed_next_statuses"], ready["next_actions"]) == (
        ["DEPLOYING"],
        ["generate", "download", "deploy"],
    )
    assert [move(s) for s in ("DEPLOYING", "DEPLOYED")] == [200] * 2
    deployed = api.get(path, headers=owner.headers).json()
    assert deployed["deployed_at"] is not None
    assert deployed["allowed_next_statuses"] == []
    assert deployed["next_actions"] == ["generate", "download", "redeploy", "stop"]
    assert move("READY") == 409
    assert move("GENERATING") == 409
    assert move("ERROR") == 409
    assert move("DEPLOYING") == 409


def test_a_busy_project_cannot_be_deleted(api: Api) -> None:
    owner = api.account()
    path = f"/api/projects/{api.project(owner)['id']}"
    started = api.post(f"{path}/generate", json={"verify": True}, headers=owner.headers)
    assert started.status_code == 202
    refused = api.delete(path, headers=owner.headers)
    assert refused.status_code == 409
    assert "GENERATING" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "path", "rule"),
    [
        ({"name": "", "template": "BLOG"}, "body.name", "string_too_short"),
        ({"name": "x" * 101, "template": "BLOG"}, "body.name", "string_too_long"),
        ({"name": "   ", "template": "BLOG"}, "name", "length"),
        ({"name": "x", "template": "WORDPRESS"}, "body.template", "enum"),
        ({"name": "x", "template": "BLOG", "config": []}, "body.config", "dict_type"),
        ({"name": "x", "template": "BLOG", "features": ["teleport"]}, "features", "known"),
        ({"name": "x", "template": "BLOG", "config": {"big": "y" * 70_000}}, "config", "max_bytes"),
        ({"name": 5, "template": "BLOG"}, "body.name", "string_type"),
        ({"template": "BLOG"}, "body.name", "missing"),
        ({"name": "x", "template": "BLOG", "owner": "me"}, "body.owner", "extra_forbidden"),
    ],
)
def test_validation_names_the_field_and_rule(
    api: Api, body: dict[str, object], path: str, rule: str
) -> None:
    response = api.post("/api/projects", json=body, headers=api.account().headers)
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["details"]["fields"]
    assert {"path": path, "type": rule} in [{"path": f["path"], "type": f["type"]} for f in fields]


def test_list_filters_sorts_and_pages(api: Api, engine: Engine) -> None:
    owner = api.account()
    other = api.account()
    made = [
        api.project(owner, name=f"p{i}", template="API" if i % 2 else "BLOG")["id"]
        for i in range(7)
    ]
    api.project(other)
    api.patch(f"/api/projects/{made[0]}", json={"name": "p0 renamed"}, headers=owner.headers)
    with engine.begin() as connection:  # as a run in progress leaves it
        connection.execute(update(Project).where(Project.id == made[0]).values(status="GENERATING"))

    def ids(query: str) -> list[str]:
        seen: list[str] = []
        cursor = ""
        while True:
            page = api.get(f"/api/projects?{query}&limit=3{cursor}", headers=owner.headers)
            assert page.status_code == 200, page.text
            body = page.json()
            seen += [p["id"] for p in body["items"]]
            if body["next_cursor"] is None:
                return seen
            cursor = f"&cursor={body['next_cursor']}"

    assert ids("sort=-created_at") == made[::-1]
    assert ids("sort=created_at") == made
    assert ids("template=API") == [made[i] for i in (5, 3, 1)]
    assert ids("status=GENERATING") == [made[0]]
    assert ids("sort=-updated_at")[0] == made[0]  # changed last


def test_a_cursor_from_another_sort_is_refused(api: Api) -> None:
    owner = api.account()
    for i in range(3):
        api.project(owner, name=f"p{i}")
    cursor = api.get("/api/projects?limit=1", headers=owner.headers).json()["next_cursor"]
    response = api.get(f"/api/projects?sort=created_at&cursor={cursor}", headers=owner.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["path"] == "cursor"


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "sort=name", "status=NOPE"])
def test_bad_list_parameters(api: Api, query: str) -> None:
    response = api.get(f"/api/projects?{query}", headers=api.account().headers)
    assert response.status_code == 422


def test_detail_pages_generations_newest_first(api: Api, engine: Engine) -> None:
    owner = api.account()
    project = api.project(owner)
    with transaction(make_session_factory(engine)) as session:
        row = session.get(Project, project["id"])
        assert row is not None
        row.status = ProjectStatus.READY
        made = [make_generation(session, row, created_at=t).id for t in spaced_times(7)]
    path = f"/api/projects/{project['id']}"
    first = api.get(f"{path}?generations_limit=4", headers=owner.headers).json()
    assert [g["id"] for g in first["generations"]["items"]] == made[::-1][:4]
    cursor = first["generations"]["next_cursor"]
    rest = api.get(f"{path}?generations_limit=4&generations_cursor={cursor}", headers=owner.headers)
    assert [g["id"] for g in rest.json()["generations"]["items"]] == made[::-1][4:]
    listed = api.get(f"{path}/generations?limit=50", headers=owner.headers).json()
    assert [g["id"] for g in listed["items"]] == made[::-1]
    one = api.get(f"/api/generations/{made[0]}", headers=owner.headers)
    assert one.status_code == 200
    assert one.json()["project_id"] == project["id"]


def test_a_failed_request_changes_nothing(api: Api) -> None:
    """The name is set before the illegal status is refused; the whole request rolls back."""
    owner = api.account()
    path = f"/api/projects/{api.project(owner, name='Before')['id']}"
    refused = api.patch(path, json={"name": "After", "status": "DEPLOYED"}, headers=owner.headers)
    assert refused.status_code == 409
    assert api.get(path, headers=owner.headers).json()["name"] == "Before"
