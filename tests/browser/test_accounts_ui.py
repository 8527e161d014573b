"""Sign up, log out, log in and the styled error pages, in a real browser; and the
security properties of the cookie session (flags, CSRF, CSP)."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Platform, check_page

PASSWORD = "correct-horse-42"


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def test_sign_up_log_out_log_in_and_error_pages(page: Page, platform: Platform) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Describe an app")
    expect(page.locator(".cards .card")).to_have_count(5)
    check_page(page, f"landing-{platform.backend}")

    page.get_by_role("link", name="Sign up").first.click()
    expect(page).to_have_url(re.compile(r"/signup$"))
    email = unique_email("ada")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#f-password-error")).to_contain_text("too short")
    check_page(page, f"signup-error-{platform.backend}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("status")).to_contain_text("Welcome")
    expect(page.get_by_role("heading", name="No projects yet")).to_be_visible()
    check_page(page, f"dashboard-empty-{platform.backend}")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/login\?next=/dashboard$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("wrong-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Email or password is wrong")
    check_page(page, f"login-error-{platform.backend}")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    # the API's log-in throttling guards the form too (another account's failures)
    page.context.clear_cookies()
    page.goto("/login")
    target = unique_email("guessed")
    for _ in range(6):
        page.get_by_label("Email").fill(target)
        page.get_by_label("Password").fill("guess-number-1")
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed log-ins")
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    response = page.goto("/no/such/page")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    check_page(page, f"404-{platform.backend}")


def test_cookie_flags_csrf_and_headers(page: Page, platform: Platform) -> None:
    response = page.goto("/signup")
    assert response is not None
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    page.get_by_label("Email").fill(unique_email("flags"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    cookie = next(c for c in page.context.cookies() if c["name"] == "uab_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    assert not cookie["secure"]  # only in production (tests/integration covers that)

    # A form post without the token (what another site's page would send) is refused.
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    refused = httpx.post(f"{platform.url}/logout", cookies=cookies, headers={"accept": "text/html"})
    assert refused.status_code == 403
    assert "security token" in refused.text
    forged = httpx.post(
        f"{platform.url}/logout",
        cookies=cookies,
        data={"csrf_token": "0" * 64},
        headers={"accept": "text/html"},
    )
    assert forged.status_code == 403
    page.goto("/dashboard")  # still logged in: neither post logged the user out
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()

    # The API keeps its JSON errors; its paths carry no UI headers.
    api = httpx.get(f"{platform.url}/api/nope")
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"
