"""API keys: shown once, stored hashed, scoped, revocable, expiring, used sparingly-written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

from appbuilder.db.models import ApiKey
from tests.integration.api.conftest import Api


def test_create_list_use_revoke(api: Api, engine: Engine) -> None:
    owner = api.account()
    made = api.post(
        "/api/keys",
        json={"name": "deploy bot", "scopes": ["projects:read", "projects:write"]},
        headers=owner.headers,
    )
    assert made.status_code == 201
    body = made.json()
    full_key = body["key"]
    assert full_key.startswith(f"uab_{body['api_key']['prefix']}_")

    with engine.connect() as connection:
        stored = connection.execute(select(ApiKey.key_hash, ApiKey.prefix)).one()
    assert full_key not in stored.key_hash
    assert full_key.split("_", 2)[2] not in stored.key_hash

    listed = api.get("/api/keys", headers=owner.headers).json()
    assert [k["name"] for k in listed] == ["deploy bot"]
    assert "key" not in listed[0]
    assert "key_hash" not in listed[0]

    key_headers = {"Authorization": f"Bearer {full_key}"}
    assert api.get("/api/projects", headers=key_headers).status_code == 200
    assert api.get("/api/me", headers=key_headers).json()["id"] == owner.id

    key_id = body["api_key"]["id"]
    assert api.delete(f"/api/keys/{key_id}", headers=owner.headers).status_code == 204
    refused = api.get("/api/projects", headers=key_headers)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["error"]["message"]
    again = api.get("/api/keys", headers=owner.headers).json()
    assert again[0]["revoked_at"] is not None


def test_expired_key_is_refused(api: Api, engine: Engine) -> None:
    key = api.api_key(api.account(), "projects:read")
    with engine.begin() as connection:
        connection.execute(update(ApiKey).values(expires_at=datetime.now(UTC) - timedelta(1)))
    response = api.get("/api/projects", headers=key.headers)
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_expiry_must_be_in_the_future(api: Api) -> None:
    response = api.post(
        "/api/keys",
        json={"name": "k", "scopes": ["projects:read"], "expires_at": "2001-01-01T00:00:00Z"},
        headers=api.account().headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["path"] == "expires_at"


def test_a_tampered_key_is_refused(api: Api) -> None:
    key = api.api_key(api.account(), "projects:read")
    tampered = key.token[:-1] + ("a" if key.token[-1] != "a" else "b")
    response = api.get("/api/projects", headers={"Authorization": f"Bearer {tampered}"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("scope", "method", "path", "allowed"),
    [
        ("projects:read", "GET", "/api/projects", True),
        ("projects:read", "POST", "/api/projects", False),
        ("projects:write", "GET", "/api/projects", False),
        ("projects:write", "POST", "/api/projects", True),
        ("generations:read", "GET", "/api/projects", False),
        ("projects:read", "GET", "/api/keys", False),
        ("keys:manage", "GET", "/api/keys", True),
        ("projects:write", "GET", "/api/admin/users", False),
    ],
)
def test_scopes_are_enforced_per_route(
    api: Api, scope: str, method: str, path: str, allowed: bool
) -> None:
    key = api.api_key(api.account(), scope)
    body = {"name": "p", "template": "BLOG"} if method == "POST" else None
    response = api.request(method, path, json=body, headers=key.headers)
    if allowed:
        assert response.status_code in {200, 201}, response.text
    else:
        assert response.status_code == 403
        assert response.json()["error"]["details"]["scope"] != scope


def test_a_user_cannot_mint_an_admin_key(api: Api) -> None:
    response = api.post(
        "/api/keys", json={"name": "sneaky", "scopes": ["admin"]}, headers=api.account().headers
    )
    assert response.status_code == 403
    assert "admin" in response.json()["error"]["message"]


def test_unknown_scope_is_a_validation_error(api: Api) -> None:
    response = api.post(
        "/api/keys", json={"name": "k", "scopes": ["root"]}, headers=api.account().headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["path"].startswith("body.scopes")


def test_last_used_is_written_at_most_once_a_minute(api: Api, engine: Engine) -> None:
    key = api.api_key(api.account(), "projects:read")

    def last_used() -> datetime | None:
        with engine.connect() as connection:
            value: datetime | None = connection.execute(select(ApiKey.last_used_at)).scalar()
        return value

    assert last_used() is None
    api.get("/api/projects", headers=key.headers)
    first = last_used()
    assert first is not None
    api.get("/api/projects", headers=key.headers)
    assert last_used() == first  # within the minute: no write
    with engine.begin() as connection:
        connection.execute(update(ApiKey).values(last_used_at=first - timedelta(minutes=2)))
    api.get("/api/projects", headers=key.headers)
    latest = last_used()
    assert latest is not None
    assert latest > first - timedelta(minutes=1)


def test_revoking_twice_is_harmless_and_unknown_ids_are_404(api: Api) -> None:
    owner = api.account()
    made = api.post(
        "/api/keys", json={"name": "k", "scopes": ["projects:read"]}, headers=owner.headers
    ).json()
    path = f"/api/keys/{made['api_key']['id']}"
    assert api.delete(path, headers=owner.headers).status_code == 204
    assert api.delete(path, headers=owner.headers).status_code == 204
    assert api.delete("/api/keys/nope", headers=owner.headers).status_code == 404


def test_a_key_cannot_mint_a_stronger_key(api: Api) -> None:
    key = api.api_key(api.account(), "keys:manage")
    response = api.post(
        "/api/keys",
        json={"name": "escalate", "scopes": ["keys:manage", "projects:write"]},
        headers=key.headers,
    )
    assert response.status_code == 403
    assert response.json()["error"]["details"]["scopes"] == ["projects:write"]
    same = api.post(
        "/api/keys", json={"name": "peer", "scopes": ["keys:manage"]}, headers=key.headers
    )
    assert same.status_code == 201
