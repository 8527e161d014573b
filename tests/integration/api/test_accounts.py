"""Sign-up, log-in, log-out, /api/me, password change, through HTTP."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine, select

from appbuilder.db.models import AuthSession, User
from tests.integration.api.conftest import PASSWORD, Api


def test_register_login_me_logout(api: Api) -> None:
    created = api.post(
        "/api/auth/register",
        json={"email": "  Grace@Example.COM ", "password": PASSWORD, "name": "Grace"},
    )
    assert created.status_code == 201
    user = created.json()
    assert user["email"] == "grace@example.com"
    assert (user["role"], user["subscription_tier"]) == ("USER", "FREE")
    assert "password_hash" not in user

    login = api.post("/api/auth/login", json={"email": "GRACE@example.com", "password": PASSWORD})
    assert login.status_code == 200
    session = login.json()
    assert session["token"].startswith("uabs_")
    assert session["user"]["last_login_at"] is not None
    headers = {"Authorization": f"Bearer {session['token']}"}

    me = api.get("/api/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]

    assert api.post("/api/auth/logout", headers=headers).status_code == 204
    after = api.get("/api/me", headers=headers)
    assert after.status_code == 401
    assert "logged out" in after.json()["error"]["message"]
    assert after.headers["WWW-Authenticate"] == "Bearer"


def test_tokens_are_stored_only_as_hashes(api: Api, engine: Engine) -> None:
    account = api.account()
    with engine.connect() as connection:
        hashes = connection.execute(select(AuthSession.token_hash)).scalars().all()
    assert account.token not in hashes
    assert all(len(h) == 64 for h in hashes)


def test_duplicate_email_is_a_409_that_says_so(api: Api) -> None:
    api.account(email="taken@example.com")
    again = api.post(
        "/api/auth/register", json={"email": "TAKEN@example.com", "password": PASSWORD}
    )
    assert again.status_code == 409
    assert "already exists" in again.json()["error"]["message"]


@pytest.mark.parametrize(
    ("password", "problem"),
    [("short1", "too short"), ("onlyletters", "non-letter"), ("12345678901", "letter")],
)
def test_password_rules_are_stated(api: Api, password: str, problem: str) -> None:
    response = api.post("/api/auth/register", json={"email": "a@example.com", "password": password})
    assert response.status_code == 422
    error = response.json()["error"]
    assert problem in error["message"]
    assert "at least 8 characters" in error["message"]
    assert error["details"]["fields"][0]["path"] == "password"


def test_invalid_email_names_the_field(api: Api) -> None:
    response = api.post("/api/auth/register", json={"email": "not-an-email", "password": PASSWORD})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["path"] == "body.email"


def test_wrong_password_and_unknown_email_look_the_same(api: Api) -> None:
    api.account(email="known@example.com")
    wrong = api.post("/api/auth/login", json={"email": "known@example.com", "password": "x" * 9})
    unknown = api.post("/api/auth/login", json={"email": "nobody@example.com", "password": "x1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


def test_password_change_revokes_every_session(api: Api, engine: Engine) -> None:
    account = api.account()
    other = api.post("/api/auth/login", json={"email": account.email, "password": PASSWORD})
    other_headers = {"Authorization": f"Bearer {other.json()['token']}"}
    changed = api.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "new-password-77"},
        headers=account.headers,
    )
    assert changed.status_code == 200
    fresh = {"Authorization": f"Bearer {changed.json()['token']}"}
    assert api.get("/api/me", headers=account.headers).status_code == 401
    assert api.get("/api/me", headers=other_headers).status_code == 401
    assert api.get("/api/me", headers=fresh).status_code == 200
    old = api.post("/api/auth/login", json={"email": account.email, "password": PASSWORD})
    assert old.status_code == 401
    new = api.post("/api/auth/login", json={"email": account.email, "password": "new-password-77"})
    assert new.status_code == 200


def test_password_change_needs_the_current_password(api: Api) -> None:
    account = api.account()
    response = api.post(
        "/api/me/password",
        json={"current_password": "wrong-one-1", "new_password": "new-password-77"},
        headers=account.headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["path"] == "current_password"


def test_password_change_is_refused_with_an_api_key(api: Api) -> None:
    key = api.api_key(api.account(), "projects:read")
    response = api.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "new-password-77"},
        headers=key.headers,
    )
    assert response.status_code == 403


def test_expired_session_is_refused(api: Api, engine: Engine) -> None:
    account = api.account()
    with engine.begin() as connection:
        connection.execute(
            AuthSession.__table__.update().values(expires_at=datetime(2020, 1, 1).astimezone())
        )
    response = api.get("/api/me", headers=account.headers)
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_missing_and_garbage_credentials(api: Api) -> None:
    assert api.get("/api/me").status_code == 401
    garbage = ("Bearer nonsense", "Bearer uabs_forged", "Bearer uab_short", "Basic abc")
    for value in (*garbage, "Bearer", "Token uabs_x", "", "uabs_x", "Bearer\tuabs_x"):
        response = api.get("/api/me", headers={"Authorization": value})
        assert response.status_code == 401, value
        assert response.json()["error"]["code"] == "unauthenticated"
        assert response.headers["www-authenticate"] == "Bearer"


def test_the_bearer_scheme_is_read_in_any_case(api: Api) -> None:
    """RFC 9110: the scheme is case-insensitive, as FastAPI's HTTPBearer reads it."""
    account = api.account()
    for scheme in ("Bearer", "bearer", "BEARER"):
        response = api.get("/api/me", headers={"Authorization": f"{scheme} {account.token}"})
        assert response.status_code == 200, scheme
        assert response.json()["id"] == account.id
    key = api.api_key(account, "projects:read")
    assert api.get("/api/projects", headers={"Authorization": f"bearer {key.token}"}).is_success


def test_last_login_is_recorded(api: Api, engine: Engine) -> None:
    account = api.account()
    with engine.connect() as connection:
        last = connection.execute(select(User.last_login_at).where(User.id == account.id)).scalar()
    assert last is not None
