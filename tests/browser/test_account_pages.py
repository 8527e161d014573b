"""API keys, the account page and the admin page in a real browser: a key shown once
with a copy button, then working against the API until revoked; the user's own model
key stored encrypted and shown only masked; admins' figures and user search; only a
super admin changes roles and tiers; every form refuses a post without its CSRF token."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from appbuilder.db.models import User
from appbuilder.enums import SubscriptionTier, UserRole
from tests.browser.conftest import Platform, check_page
from tests.browser.test_files_ui import HOSTILE, account, run_to_end, sign_in
from tests.integration.conftest import engine_for

PROVIDER_KEY = "sk-test-secret-4242-abcdef987654"


def test_api_keys_and_account(page: Page, context: BrowserContext, platform: Platform) -> None:
    owner = account(platform, tier=SubscriptionTier.FREE)
    sign_in(context, platform, owner)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=platform.url)
    page.on("dialog", lambda dialog: dialog.dismiss())

    page.goto("/dashboard")
    page.get_by_role("link", name="API keys").click()
    expect(page).to_have_url(re.compile(r"/keys$"))
    expect(page.get_by_role("heading", name="No keys yet")).to_be_visible()
    check_page(page, f"keys-empty-{platform.backend}")

    # No scope: the API's own message, beside the scopes.
    page.get_by_label("Name").fill(HOSTILE)
    page.get_by_label("projects:read").uncheck()
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#f-scopes-error")).to_be_visible()
    page.get_by_label("projects:read").check()
    page.get_by_label("generations:read").check()
    page.get_by_label("Expires").select_option("30")
    page.get_by_role("button", name="Create key").click()

    shown = page.locator("#new-key")
    expect(shown).to_have_text(re.compile(r"^uab_\w+_\S+$"))
    key = shown.inner_text().strip()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    expect(page.locator("table").get_by_text(HOSTILE)).to_be_visible()  # the name, as text
    assert page.title() != "pwned"
    check_page(page, f"keys-created-{platform.backend}")
    me = httpx.get(f"{platform.url}/api/me", headers={"authorization": f"Bearer {key}"})
    assert me.status_code == 200
    assert me.json()["email"] == owner.email

    page.goto("/keys")  # shown once: never again
    assert key not in page.content()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("button", name=re.compile("^Revoke key")).click()
    expect(page.get_by_role("status")).to_contain_text("is revoked")
    expect(page.locator("tbody .badge", has_text="revoked")).to_be_visible()
    gone = httpx.get(f"{platform.url}/api/me", headers={"authorization": f"Bearer {key}"})
    assert gone.status_code == 401

    _account_page(page, platform, owner.id)
    _forms_need_their_token(context, platform)


def _account_page(page: Page, platform: Platform, user_id: str) -> None:
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.locator(".stats")).to_contain_text("Free")
    expect(page.locator("meter")).not_to_have_count(0)
    expect(page.get_by_text("Runs this month:")).to_be_visible()
    check_page(page, f"account-{platform.backend}")

    # A hosted provider needs a key: the service's message, and nothing is stored.
    page.get_by_label("Provider", exact=True).select_option("openai")
    page.get_by_label("Model", exact=True).fill("gpt-4o-mini")
    page.get_by_role("button", name="Save model").click()
    expect(page.locator("#f-api_key-error")).to_contain_text("needs an API key")
    page.get_by_label("API key", exact=True).fill(PROVIDER_KEY)
    page.get_by_role("button", name="Save model").click()
    expect(page.get_by_role("status")).to_contain_text("stored encrypted")
    expect(page.locator("#key-hint")).to_have_text("sk-…7654")
    assert PROVIDER_KEY not in page.content()
    assert page.get_by_label("API key", exact=True).input_value() == ""
    engine = engine_for(platform.database_url)
    try:
        with engine.connect() as connection:
            raw = connection.exec_driver_sql(
                "SELECT llm_api_key FROM users WHERE id = ?"
                if platform.backend == "sqlite"
                else "SELECT llm_api_key FROM users WHERE id = %s",
                (user_id,),
            ).scalar()
    finally:
        engine.dispose()
    assert raw
    assert PROVIDER_KEY not in str(raw)  # encrypted at rest

    # Changing only the model keeps the stored key.
    page.get_by_label("Model", exact=True).fill("gpt-4o")
    page.get_by_role("button", name="Save model").click()
    expect(page.locator("#key-hint")).to_have_text("sk-…7654")
    page.get_by_role("button", name="Remove my model and key").click()
    expect(page.get_by_text("Not set: the platform's model")).to_be_visible()


def _forms_need_their_token(context: BrowserContext, platform: Platform) -> None:
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    for path, data in (
        ("/keys", {"name": "forged", "scopes": "projects:read"}),
        ("/keys/abc123/revoke", {}),
        ("/account/llm", {"provider": "openai", "model": "x", "api_key": "sk-forged-0000"}),
        ("/account/llm/clear", {}),
        ("/admin/users/abc123", {"tier": "ENTERPRISE"}),
    ):
        refused = httpx.post(
            f"{platform.url}{path}", cookies=cookies, data=data, headers={"accept": "text/html"}
        )
        assert refused.status_code == 403, path
        assert "security token" in refused.text


def test_admin_page(page: Page, context: BrowserContext, platform: Platform) -> None:
    root = account(platform, role=UserRole.SUPER_ADMIN, name="Root")
    member = account(platform, tier=SubscriptionTier.FREE, name=f"Member {HOSTILE}")
    project = httpx.post(
        f"{platform.url}/api/projects",
        json={"name": "Stats", "template": "API"},
        headers=member.headers,
    ).json()
    run_to_end(platform, member, project["id"], {"name": "Stats"})

    # A plain user has no admin link, and the page is refused.
    sign_in(context, platform, member)
    page.goto("/dashboard")
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    refused = page.goto("/admin")
    assert refused is not None
    assert refused.status == 403

    sign_in(context, platform, root)
    page.on("dialog", lambda dialog: dialog.dismiss())
    page.goto("/dashboard")
    page.get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Platform admin")).to_be_visible()
    expect(page.locator("#runs-per-day tbody tr")).to_have_count(14)
    today = page.locator("#runs-per-day tbody tr").first
    assert int(today.locator("td").nth(1).inner_text()) >= 1  # completed today
    expect(page.locator("#failure-rate")).to_have_text(re.compile(r"^\d+\.\d%$"))
    check_page(page, f"admin-{platform.backend}")

    page.get_by_label("Email or name").fill(member.email)
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#users tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(HOSTILE)  # as text
    assert page.title() != "pwned"
    page.get_by_label(f"Tier of {member.email}", exact=True).select_option("PRO")
    page.get_by_label(f"Role of {member.email}", exact=True).select_option("ADMIN")
    page.get_by_role("button", name=f"Save role and tier of {member.email}").click()
    expect(page.get_by_role("status")).to_contain_text("is now ADMIN on PRO")
    assert _role_and_tier(platform, member.id) == (UserRole.ADMIN, SubscriptionTier.PRO)
    page.goto(f"/admin?q={member.email}")  # billing column: granted by hand, not bought
    expect(page.locator("#users tbody tr")).to_contain_text("never subscribed")
    expect(page.locator("#users tbody tr")).to_contain_text("tier set by an admin")

    bad = page.goto("/admin?role=KING")
    assert bad is not None
    assert bad.status == 422
    expect(page.locator(".lead")).to_contain_text("role must be one of USER, ADMIN, SUPER_ADMIN")
    page.goto("/admin")

    # Nobody changes their own role here: the service's refusal, on the page.
    page.get_by_label("Email or name").fill(root.email)
    page.get_by_role("button", name="Search").click()
    page.get_by_label(f"Role of {root.email}", exact=True).select_option("USER")
    page.get_by_role("button", name=f"Save role and tier of {root.email}").click()
    expect(page.get_by_role("alert")).to_contain_text("cannot change your own role")

    # An ADMIN reads the page but gets no editing forms; their posts are refused.
    sign_in(context, platform, member)
    page.goto(f"/admin?q={member.email}")
    expect(page.locator("#users tbody tr")).to_contain_text("ADMIN · PRO")
    expect(page.locator("#users select")).to_have_count(0)


def _role_and_tier(platform: Platform, user_id: str) -> tuple[UserRole, SubscriptionTier]:
    engine = engine_for(platform.database_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                select(User.role, User.subscription_tier).where(User.id == user_id)
            ).one()
    finally:
        engine.dispose()
    return row.role, row.subscription_tier
