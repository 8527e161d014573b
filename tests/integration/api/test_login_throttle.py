"""Brute-force protection: repeated failures for one account or one address get 429 with
Retry-After; once the window has passed, the right password works again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update

from appbuilder.db.models import LoginFailure
from tests.integration.api.conftest import PASSWORD, Api


def _fail(api: Api, email: str) -> int:
    return api.post(
        "/api/auth/login", json={"email": email, "password": "wrong-pass-1"}
    ).status_code


def test_account_is_paused_after_repeated_failures(api: Api, engine: Engine) -> None:
    account = api.account()
    assert [_fail(api, account.email) for _ in range(5)] == [401] * 5
    paused = api.post("/api/auth/login", json={"email": account.email, "password": PASSWORD})
    assert paused.status_code == 429
    retry_after = int(paused.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    assert paused.json()["error"]["details"]["retry_after"] == retry_after
    assert "this account" in paused.json()["error"]["message"]

    with engine.begin() as connection:  # let the window pass
        connection.execute(
            update(LoginFailure).values(created_at=datetime.now(UTC) - timedelta(minutes=16))
        )
    works = api.post("/api/auth/login", json={"email": account.email, "password": PASSWORD})
    assert works.status_code == 200


def test_success_resets_the_account_counter(api: Api) -> None:
    account = api.account()
    for _ in range(4):
        _fail(api, account.email)
    ok = api.post("/api/auth/login", json={"email": account.email, "password": PASSWORD})
    assert ok.status_code == 200
    assert [_fail(api, account.email) for _ in range(4)] == [401] * 4


def test_one_address_trying_many_accounts_is_paused(api: Api) -> None:
    for i in range(20):
        assert _fail(api, f"nobody{i}@example.com") == 401
    paused = api.post("/api/auth/login", json={"email": "other@example.com", "password": "x1"})
    assert paused.status_code == 429
    assert "your address" in paused.json()["error"]["message"]


def test_guessing_the_current_password_is_throttled(api: Api) -> None:
    account = api.account()
    body = {"current_password": "guess-no-1", "new_password": "new-password-77"}
    statuses = [
        api.post("/api/me/password", json=body, headers=account.headers).status_code
        for _ in range(6)
    ]
    assert statuses == [422] * 5 + [429]
    fields = api.post("/api/me/password", json=body, headers=account.headers)
    assert fields.status_code == 429


def test_a_weak_new_password_names_the_new_password_field(api: Api) -> None:
    account = api.account()
    response = api.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=account.headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["path"] == "new_password"
