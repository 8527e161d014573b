"""IDOR: user B can neither read, change nor delete user A's rows, by session or API key.
Another user's id answers exactly like an id that does not exist (404), so ids never leak."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from appbuilder.db.models import Deployment, Project
from appbuilder.db.session import make_session_factory, transaction
from appbuilder.enums import UserRole
from tests.factories import make_generation
from tests.integration.api.conftest import Account, Api

ALL_SCOPES = ("projects:read", "projects:write", "generations:read", "keys:manage")


@dataclass
class Victim:
    account: Account
    project_id: str
    generation_id: str
    deployment_id: str
    key_id: str


@pytest.fixture
def victim(api: Api, engine: Engine) -> Victim:
    account = api.account()
    project_id = api.project(account)["id"]
    key = api.post(
        "/api/keys", json={"name": "a", "scopes": ["projects:read"]}, headers=account.headers
    ).json()
    with transaction(make_session_factory(engine)) as session:
        project = session.get(Project, project_id)
        assert project is not None
        generation_id = make_generation(session, project).id
        deployment = Deployment(project_id=project_id, target="git")
        session.add(deployment)
        session.flush()
        deployment_id = deployment.id
    return Victim(account, project_id, generation_id, deployment_id, key["api_key"]["id"])


def attempts(v: Victim) -> list[tuple[str, str, dict[str, object] | None]]:
    return [
        ("GET", f"/api/projects/{v.project_id}", None),
        ("PATCH", f"/api/projects/{v.project_id}", {"name": "pwned"}),
        ("PATCH", f"/api/projects/{v.project_id}", {"status": "ERROR"}),
        ("DELETE", f"/api/projects/{v.project_id}", None),
        ("GET", f"/api/projects/{v.project_id}/generations", None),
        ("GET", f"/api/projects/{v.project_id}/deployments", None),
        ("GET", f"/api/generations/{v.generation_id}", None),
        ("GET", f"/api/deployments/{v.deployment_id}", None),
        ("DELETE", f"/api/keys/{v.key_id}", None),
    ]


@pytest.mark.parametrize("credential", ["session", "api_key"])
def test_another_user_gets_404_for_every_row(api: Api, victim: Victim, credential: str) -> None:
    intruder = api.account()
    if credential == "api_key":
        intruder = api.api_key(intruder, *ALL_SCOPES)
    for method, path, body in attempts(victim):
        response = api.request(method, path, json=body, headers=intruder.headers)
        assert response.status_code == 404, (method, path, response.text)
        missing = path.rsplit("/", 1)[0] + "/doesnotexist"
        if path.count("/") == 3:  # same answer as for an id that does not exist
            unknown = api.request(method, missing, json=body, headers=intruder.headers)
            assert unknown.status_code == 404
            real_id = path.rsplit("/", 1)[1]
            seen = response.json()["error"]
            expected = unknown.json()["error"]
            assert seen["code"] == expected["code"]
            assert seen["message"].replace(real_id, "doesnotexist") == expected["message"]
            assert str(seen["details"]).replace(real_id, "doesnotexist") == str(expected["details"])

    # and nothing changed for the owner
    project = api.get(f"/api/projects/{victim.project_id}", headers=victim.account.headers)
    assert project.status_code == 200
    assert (project.json()["name"], project.json()["status"]) == ("My app", "DRAFT")
    keys = api.get("/api/keys", headers=victim.account.headers).json()
    assert keys[0]["revoked_at"] is None


def test_lists_show_only_your_own_rows(api: Api, victim: Victim) -> None:
    intruder = api.account()
    assert api.get("/api/projects", headers=intruder.headers).json()["items"] == []
    assert api.get("/api/keys", headers=intruder.headers).json() == []


def test_an_admin_may_read_any_project_but_not_change_it(api: Api, victim: Victim) -> None:
    admin = api.account(role=UserRole.ADMIN)
    path = f"/api/projects/{victim.project_id}"
    assert api.get(path, headers=admin.headers).status_code == 200
    assert (
        api.get(f"/api/generations/{victim.generation_id}", headers=admin.headers).status_code
        == 200
    )
    assert api.patch(path, json={"name": "x"}, headers=admin.headers).status_code == 404
    assert api.delete(path, headers=admin.headers).status_code == 404
    # an admin's key without the admin scope reads only its own rows
    narrow = api.api_key(admin, "projects:read")
    assert api.get(path, headers=narrow.headers).status_code == 404
