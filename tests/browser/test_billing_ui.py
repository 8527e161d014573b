"""Buying a plan in a real browser, against the local fake Stripe (tests/fake_stripe.py):
the pricing page sends a new visitor to sign up and back, Choose goes on to Stripe's
Checkout page (the page's policy lets the form go there), the plan page follows what
Stripe's signed webhooks say (paid, payment failed with its grace, paid again, cancelled),
Manage billing opens the portal, and a limit reached on the lower plan offers the plans."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Platform, check_page
from tests.fake_stripe import signed

PASSWORD = "correct horse battery"


def deliver(platform: Platform, events: list[dict[str, Any]]) -> None:
    for event in events:
        body, headers = signed(event)
        answer = httpx.post(f"{platform.url}/api/billing/webhook", content=body, headers=headers)
        assert answer.status_code == 200, answer.text


def test_upgrade_fail_pay_again_and_cancel_in_the_browser(
    page: Page, context: BrowserContext, platform: Platform
) -> None:
    page.goto("/pricing")
    expect(page.get_by_role("heading", name="Plans and limits")).to_be_visible()
    expect(page.locator("#billing-not-configured")).to_have_count(0)
    check_page(page, f"pricing-{platform.backend}")
    page.get_by_role("link", name="Sign up to choose Pro").click()
    page.get_by_label("Email").fill(f"buyer-{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/pricing$"))  # back where they were going
    expect(page.locator("#plan-free")).to_contain_text("your plan")

    # a form post without this browser's token is refused, whatever it asks for
    refused = context.request.post(
        "/pricing/checkout", form={"tier": "PRO"}, headers={"accept": "text/html"}
    )
    assert refused.status == 403
    checkouts = platform.stripe.calls("/v1/checkout/sessions")

    page.get_by_role("button", name="Choose Pro, billed monthly").click()
    expect(page).to_have_url(re.compile(re.escape(platform.stripe.url) + r"/pay/cs_test_\d+$"))
    expect(page.get_by_role("heading", name=re.compile("Fake Stripe Checkout"))).to_be_visible()
    assert len(platform.stripe.calls("/v1/checkout/sessions")) == len(checkouts) + 1
    session_id = page.url.rsplit("/", 1)[1]
    paid = platform.stripe.complete_checkout(session_id)
    deliver(platform, paid)
    sub_id = str(paid[1]["data"]["object"]["id"])

    page.goto(platform.stripe.sessions[session_id]["success_url"])  # Stripe sends them back
    expect(page.locator("#checkout-notice")).to_contain_text("Stripe is confirming")
    expect(page.locator("#plan-tier")).to_have_text("Pro")
    expect(page.locator("#plan-status")).to_have_text("active")
    check_page(page, f"plan-active-{platform.backend}")

    deliver(platform, platform.stripe.fail_payment(sub_id))
    page.reload()
    expect(page.locator("#plan-status")).to_have_text("past due")
    expect(page.locator("#past-due")).to_contain_text("Your Pro plan continues until")
    expect(page.locator("#plan-effective")).to_have_text("Pro")  # within the grace period
    check_page(page, f"plan-past-due-{platform.backend}")
    deliver(platform, platform.stripe.pay(sub_id))
    page.reload()
    expect(page.locator("#plan-status")).to_have_text("active")
    expect(page.locator("#past-due")).to_have_count(0)

    page.get_by_role("button", name="Manage billing").click()
    expect(page).to_have_url(re.compile(re.escape(platform.stripe.url) + r"/portal/bps_\d+$"))

    # cancelled in the portal: FREE again, nothing deleted, and a FREE limit offers the plans
    deliver(platform, platform.stripe.cancel(sub_id))
    page.goto("/account/plan")
    expect(page.locator("#plan-tier")).to_have_text("Free")
    expect(page.locator("#plan-status")).to_have_text("canceled")
    _a_free_limit_offers_the_plans(page, context, platform)


def _a_free_limit_offers_the_plans(page: Page, context: BrowserContext, platform: Platform) -> None:
    token = next(c["value"] for c in context.cookies() if c["name"] == "uab_session")
    for i in range(3):  # FREE allows three projects
        made = httpx.post(
            f"{platform.url}/api/projects",
            json={"name": f"Blog {i}", "template": "BLOG"},
            headers={"authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201, made.text
    page.goto("/projects/new")
    page.locator("#t-BLOG-name").fill("One too many")
    page.get_by_role("button", name="Use Blog").click()
    expect(page.locator("#upgrade-offer")).to_be_visible()
    page.get_by_role("link", name="See plans and limits").click()
    expect(page).to_have_url(re.compile(r"/pricing$"))
