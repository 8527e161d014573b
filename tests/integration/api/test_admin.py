"""Roles: ADMIN finds users and reads figures; only SUPER_ADMIN changes roles and tiers."""

from __future__ import annotations

from appbuilder.enums import SubscriptionTier, UserRole
from tests.integration.api.conftest import Api


def test_users_cannot_use_admin_routes(api: Api) -> None:
    user = api.account()
    for path in ("/api/admin/users", "/api/admin/usage", f"/api/admin/users/{user.id}"):
        assert api.get(path, headers=user.headers).status_code == 403


def test_admin_lists_and_searches_users(api: Api) -> None:
    admin = api.account(role=UserRole.ADMIN)
    api.account(email="alice.smith@example.com")
    api.account(email="bob@example.com", tier=SubscriptionTier.STARTER)
    found = api.get("/api/admin/users?q=SMITH", headers=admin.headers).json()
    assert [u["email"] for u in found["items"]] == ["alice.smith@example.com"]
    starters = api.get("/api/admin/users?tier=STARTER", headers=admin.headers).json()
    assert [u["email"] for u in starters["items"]] == ["bob@example.com"]
    wildcard = api.get("/api/admin/users?q=%25", headers=admin.headers).json()
    assert wildcard["items"] == []  # % is matched literally, not as a wildcard
    page = api.get("/api/admin/users?limit=2", headers=admin.headers).json()
    assert len(page["items"]) == 2
    assert page["next_cursor"] is not None
    rest = api.get(f"/api/admin/users?limit=2&cursor={page['next_cursor']}", headers=admin.headers)
    assert len(rest.json()["items"]) == 1
    assert "password_hash" not in str(found)


def test_admin_sees_platform_usage(api: Api) -> None:
    admin = api.account(role=UserRole.ADMIN)
    api.project(api.account())
    usage = api.get("/api/admin/usage", headers=admin.headers).json()
    assert usage["table_rows"]["users"] == 2
    assert usage["projects_by_status"]["DRAFT"] == 1
    assert usage["generations_this_month"] == 0


def test_only_a_super_admin_changes_roles_and_tiers(api: Api) -> None:
    admin = api.account(role=UserRole.ADMIN)
    root = api.account(role=UserRole.SUPER_ADMIN)
    user = api.account()
    path = f"/api/admin/users/{user.id}"
    assert api.patch(path, json={"role": "ADMIN"}, headers=admin.headers).status_code == 403
    changed = api.patch(
        path, json={"role": "ADMIN", "subscription_tier": "PRO"}, headers=root.headers
    )
    assert changed.status_code == 200
    assert (changed.json()["role"], changed.json()["subscription_tier"]) == ("ADMIN", "PRO")


def test_an_admin_cannot_raise_their_own_role(api: Api) -> None:
    admin = api.account(role=UserRole.ADMIN)
    response = api.patch(
        f"/api/admin/users/{admin.id}", json={"role": "SUPER_ADMIN"}, headers=admin.headers
    )
    assert response.status_code == 403
    assert api.get("/api/me", headers=admin.headers).json()["role"] == "ADMIN"


def test_a_super_admin_cannot_change_their_own_role_or_demote_the_last(api: Api) -> None:
    root = api.account(role=UserRole.SUPER_ADMIN)
    own = api.patch(f"/api/admin/users/{root.id}", json={"role": "USER"}, headers=root.headers)
    assert own.status_code == 403
    tier = api.patch(
        f"/api/admin/users/{root.id}", json={"subscription_tier": "FREE"}, headers=root.headers
    )
    assert tier.status_code == 200  # tiers are fine


def test_demoted_admin_loses_admin_scope_at_once(api: Api) -> None:
    root = api.account(role=UserRole.SUPER_ADMIN)
    admin = api.account(role=UserRole.ADMIN)
    key = api.api_key(admin, "admin")
    assert api.get("/api/admin/users", headers=key.headers).status_code == 200
    api.patch(f"/api/admin/users/{admin.id}", json={"role": "USER"}, headers=root.headers)
    assert api.get("/api/admin/users", headers=key.headers).status_code == 403
    assert api.get("/api/admin/users", headers=admin.headers).status_code == 403


def test_unknown_user_is_404(api: Api) -> None:
    root = api.account(role=UserRole.SUPER_ADMIN)
    assert api.get("/api/admin/users/nobody", headers=root.headers).status_code == 404
    assert (
        api.patch(
            "/api/admin/users/nobody", json={"role": "USER"}, headers=root.headers
        ).status_code
        == 404
    )
