"""Billing through the API, the real ``stripe`` client and a local Stripe on loopback
(tests/fake_stripe.py), with webhooks signed as Stripe signs them: the whole journey
upgrade -> use more -> payment fails -> FREE limits (nothing deleted) -> pay again ->
cancel; forged, replayed and out-of-order deliveries; billing without Stripe settings."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from appbuilder.db.models import StripeEvent, User
from appbuilder.db.session import make_session_factory, reading
from appbuilder.enums import SubscriptionStatus, SubscriptionTier, UserRole
from appbuilder.errors import QuotaExceededError
from appbuilder.services import quotas
from appbuilder.settings import Settings
from tests.fake_stripe import (
    PRICES,
    PRICES_JSON,
    SECRET_KEY,
    WEBHOOK_SECRET,
    FakeStripe,
    fake_stripe,
    signed,
)
from tests.integration.api.conftest import Account, Api
from tests.integration.api.test_web_ui import token_of

WEBHOOK = "/api/billing/webhook"


@pytest.fixture(scope="module")
def stripe() -> Iterator[FakeStripe]:
    with fake_stripe() as fake:
        yield fake


@pytest.fixture
def grace_days() -> float:
    return 7.0


@pytest.fixture
def api_settings(api_settings: Settings, stripe: FakeStripe, grace_days: float) -> Settings:
    return api_settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(SECRET_KEY),
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "stripe_prices": PRICES_JSON,
            "stripe_api_base": stripe.url,
            "billing_grace_days": grace_days,
            "billing_return_url": "https://builder.example.com",
        }
    )


def deliver(api: Api, events: list[dict[str, Any]]) -> list[str]:
    """Post each event as Stripe would; the outcome of each."""
    outcomes = []
    for event in events:
        body, headers = signed(event)
        response = api.post(WEBHOOK, content=body, headers=headers)
        assert response.status_code == 200, response.text
        outcomes.append(response.json()["outcome"])
    return outcomes


def subscribe(api: Api, stripe: FakeStripe, owner: Account, tier: str = "PRO") -> str:
    """Checkout, pay, and have every event delivered; the subscription's id."""
    started = api.post(
        "/api/billing/checkout", json={"tier": tier, "interval": "month"}, headers=owner.headers
    )
    assert started.status_code == 200, started.text
    session_id = started.json()["url"].rsplit("/", 1)[1]
    events = stripe.complete_checkout(session_id)
    assert deliver(api, events) == ["applied"] * 3
    return str(events[1]["data"]["object"]["id"])


def billing(api: Api, owner: Account) -> dict[str, Any]:
    response = api.get("/api/billing", headers=owner.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def generate(api: Api, owner: Account, project: dict[str, Any]) -> Any:
    return api.post(
        f"/api/projects/{project['id']}/generate", json={"verify": False}, headers=owner.headers
    )


@pytest.mark.parametrize("grace_days", [0.0])
def test_upgrade_use_more_fail_payment_downgrade_and_pay_again(
    api: Api, stripe: FakeStripe
) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    assert billing(api, owner)["effective_tier"] == "FREE"
    sub_id = subscribe(api, stripe, owner, "PRO")
    state = billing(api, owner)
    assert (state["tier"], state["effective_tier"], state["status"]) == ("PRO", "PRO", "active")
    assert state["renews_at"] is not None
    assert state["has_billing_account"]
    checkout = stripe.calls("/v1/checkout/sessions")[-1].params
    assert checkout["line_items[0][price]"] == PRICES["PRO"]["month"]
    assert checkout["client_reference_id"] == owner.id
    assert checkout["success_url"].startswith("https://builder.example.com/")

    # use more than FREE allows: five projects, one of a template FREE lacks
    projects = [api.project(owner, name=f"p{i}") for i in range(4)]
    saas = api.project(owner, name="shop", template="SAAS")

    # the payment fails; with no grace, FREE's limits hold at once
    assert deliver(api, stripe.fail_payment(sub_id)) == ["applied", "applied"]
    state = billing(api, owner)
    assert (state["tier"], state["effective_tier"], state["status"]) == ("PRO", "FREE", "past_due")
    refused = generate(api, owner, projects[0])
    assert refused.status_code == 402
    error = refused.json()["error"]
    assert (error["details"]["limit"], error["details"]["used"]) == ("projects", 5)
    assert (error["details"]["allowed"], error["details"]["tier"]) == (3, "FREE")
    assert "past due" in error["message"]
    assert generate(api, owner, saas).json()["error"]["details"]["limit"] == "templates"
    more = api.post(
        "/api/projects", json={"name": "six", "template": "BLOG"}, headers=owner.headers
    )
    assert (more.status_code, more.json()["error"]["details"]["limit"]) == (402, "projects")
    # nothing was deleted: every project is still there and readable
    listed = api.get("/api/projects", headers=owner.headers).json()["items"]
    assert len(listed) == 5
    assert api.get(f"/api/projects/{saas['id']}", headers=owner.headers).status_code == 200

    # paid again: PRO's limits are back
    assert deliver(api, stripe.pay(sub_id)) == ["applied", "applied"]
    state = billing(api, owner)
    assert (state["effective_tier"], state["status"], state["grace_ends_at"]) == (
        "PRO",
        "active",
        None,
    )
    started = generate(api, owner, saas)
    assert started.status_code == 202, started.text
    api.post(f"/api/runs/{started.json()['id']}/cancel", headers=owner.headers)

    # cancelled: FREE again, the projects stay
    assert deliver(api, stripe.cancel(sub_id)) == ["applied"]
    state = billing(api, owner)
    assert (state["tier"], state["effective_tier"], state["status"]) == ("FREE", "FREE", "canceled")
    assert len(api.get("/api/projects", headers=owner.headers).json()["items"]) == 5


def test_a_failed_payment_keeps_the_plan_through_the_grace_period(
    api: Api, stripe: FakeStripe
) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    sub_id = subscribe(api, stripe, owner, "STARTER")
    deliver(api, stripe.fail_payment(sub_id))
    state = billing(api, owner)
    assert (state["tier"], state["effective_tier"], state["status"]) == (
        "STARTER",
        "STARTER",
        "past_due",
    )
    assert state["grace_ends_at"] is not None
    for i in range(4):  # beyond FREE's three: STARTER's limits still hold
        api.project(owner, name=f"p{i}", template="SAAS")


def test_replays_change_nothing_and_older_events_never_overwrite_newer(
    api: Api, stripe: FakeStripe, engine: Engine
) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    sub_id = subscribe(api, stripe, owner, "PRO")
    failed = stripe.fail_payment(sub_id)
    paid = stripe.pay(sub_id)
    downgraded = stripe.change_price(sub_id, PRICES["STARTER"]["month"])
    # newest first: the downgrade to STARTER, then the payment, then the failure
    assert deliver(api, downgraded) == ["applied"]
    assert deliver(api, paid) == ["stale", "stale"]
    assert deliver(api, failed) == ["stale", "stale"]
    state = billing(api, owner)
    assert (state["tier"], state["status"], state["grace_ends_at"]) == ("STARTER", "active", None)
    # a replay of any of them is recognised by its id and changes nothing
    with reading(make_session_factory(engine)) as session:
        recorded = session.scalar(select(func.count()).select_from(StripeEvent))
    assert deliver(api, [*downgraded, *failed, failed[0]]) == ["duplicate"] * 4
    # a price this server does not sell says nothing about the tier: left as it was
    assert deliver(api, stripe.change_price(sub_id, "price_not_ours")) == ["ignored"]
    recorded += 1
    with reading(make_session_factory(engine)) as session:
        assert session.scalar(select(func.count()).select_from(StripeEvent)) == recorded
        user = session.get_one(User, owner.id)
        assert (user.subscription_tier, user.subscription_status) == (
            SubscriptionTier.STARTER,
            "active",
        )


def test_the_same_event_delivered_at_once_is_applied_once(api: Api, stripe: FakeStripe) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    sub_id = subscribe(api, stripe, owner, "PRO")
    failed = stripe.fail_payment(sub_id)[0]
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: deliver(api, [failed])[0], range(4)))
    assert sorted(outcomes) == ["applied", "duplicate", "duplicate", "duplicate"]
    assert billing(api, owner)["status"] == "past_due"


def test_forged_unsigned_and_stale_webhooks_are_refused(
    api: Api, stripe: FakeStripe, engine: Engine
) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    api.post("/api/billing/checkout", json={"tier": "PRO"}, headers=owner.headers)
    session_id = next(reversed(stripe.sessions))
    event = stripe.complete_checkout(session_id)[0]
    body, headers = signed(event)
    signature = headers["Stripe-Signature"]
    attempts = {
        "unsigned": (body, {}),
        "another secret": signed(event, secret="whsec_someone_else"),
        "five minutes old": signed(event, at=int(signature.split(",")[0][2:]) - 301),
        "body changed": (body.replace(b"PRO", b"ENTERPRISE"), headers),
        "not a signature": (body, {"Stripe-Signature": "t=abc,v1"}),
    }
    for name, (content, sent) in attempts.items():
        response = api.post(WEBHOOK, content=content, headers=sent)
        assert response.status_code == 400, name
        assert response.json()["error"]["code"] == "invalid_signature", name
    with reading(make_session_factory(engine)) as session:
        assert session.scalar(select(func.count()).select_from(StripeEvent)) == 0
    assert billing(api, owner)["tier"] == "FREE"
    assert deliver(api, [event]) == ["applied"]  # the genuine delivery still works
    assert billing(api, owner)["tier"] == "PRO"
    # signed but not ours to act on: another customer's, a type we do not handle
    strangers = stripe.event("invoice.payment_failed", {"object": "invoice", "customer": "cus_x"})
    unhandled = stripe.event("customer.created", {"object": "customer", "customer": "cus_x"})
    assert deliver(api, [strangers, unhandled]) == ["ignored", "ignored"]
    body, headers = signed({"not": "an event"})
    assert api.post(WEBHOOK, content=body, headers=headers).status_code == 400


def test_one_stripe_customer_per_user_and_the_portal(api: Api, stripe: FakeStripe) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    no_account = api.post("/api/billing/portal", headers=owner.headers)
    assert (no_account.status_code, no_account.json()["error"]["code"]) == (409, "conflict")
    before = len(stripe.customers)
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: api.post(
                    "/api/billing/checkout",
                    json={"tier": "STARTER", "interval": "year"},
                    headers=owner.headers,
                ),
                range(4),
            )
        )
    assert [a.status_code for a in answers] == [200] * 4
    assert len(stripe.customers) == before + 1
    customer = stripe.calls("/v1/checkout/sessions")[-1].params["customer"]
    assert (
        stripe.calls("/v1/checkout/sessions")[-1].params["line_items[0][price]"]
        == (PRICES["STARTER"]["year"])
    )
    portal = api.post("/api/billing/portal", headers=owner.headers)
    assert portal.status_code == 200
    assert portal.json()["url"].startswith(f"{stripe.url}/portal/")
    assert stripe.calls("/v1/billing_portal/sessions")[-1].params["customer"] == customer


def test_checkout_refuses_what_is_not_on_offer_or_already_paid_for(
    api: Api, stripe: FakeStripe
) -> None:
    plans = {plan["tier"]: plan for plan in api.get("/api/billing/plans").json()}
    assert list(plans) == ["FREE", "STARTER", "PRO", "ENTERPRISE"]  # public, cheapest first
    assert {tier: plan["intervals"] for tier, plan in plans.items()} == {
        "FREE": [],
        "STARTER": ["month", "year"],
        "PRO": ["month", "year"],
        "ENTERPRISE": [],
    }
    assert (plans["FREE"]["projects"], plans["ENTERPRISE"]["projects"]) == (3, None)
    owner = api.account(tier=SubscriptionTier.FREE)
    for body, field in (
        ({"tier": "FREE"}, "tier"),
        ({"tier": "ENTERPRISE"}, "tier"),
        ({"tier": "PRO", "interval": "week"}, "body.interval"),
    ):
        response = api.post("/api/billing/checkout", json=body, headers=owner.headers)
        assert response.status_code == 422, body
        assert response.json()["error"]["details"]["fields"][0]["path"] == field
    subscribe(api, stripe, owner, "PRO")
    again = api.post("/api/billing/checkout", json={"tier": "PRO"}, headers=owner.headers)
    assert again.status_code == 409
    assert "billing portal" in again.json()["error"]["message"]


def test_stripe_refusing_our_key_is_a_502_that_names_the_setting(
    api_settings: Settings, api: Api
) -> None:
    api_settings.stripe_secret_key = SecretStr("sk_test_wrong")  # read per request
    owner = api.account(tier=SubscriptionTier.FREE)
    response = api.post("/api/billing/checkout", json={"tier": "PRO"}, headers=owner.headers)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "payment_provider_error"
    assert "UAB_STRIPE_SECRET_KEY" in error["message"]
    assert "sk_test" not in response.text


def test_admins_see_billing_and_a_super_admin_grants_a_tier(api: Api, stripe: FakeStripe) -> None:
    admin = api.account(role=UserRole.ADMIN)
    root = api.account(role=UserRole.SUPER_ADMIN)
    owner = api.account(tier=SubscriptionTier.FREE)
    sub_id = subscribe(api, stripe, owner, "STARTER")
    seen = api.get(f"/api/admin/users/{owner.id}/billing", headers=admin.headers)
    assert seen.status_code == 200
    assert (seen.json()["tier"], seen.json()["status"]) == ("STARTER", "active")
    assert api.get(f"/api/admin/users/{owner.id}/billing", headers=owner.headers).status_code == 403
    path = f"/api/admin/users/{owner.id}"
    assert (
        api.patch(path, json={"subscription_tier": "PRO"}, headers=admin.headers).status_code == 403
    )
    granted = api.patch(path, json={"subscription_tier": "ENTERPRISE"}, headers=root.headers)
    assert granted.status_code == 200
    state = billing(api, owner)
    assert (state["tier"], state["granted_by_id"]) == ("ENTERPRISE", root.id)
    assert state["granted_at"] is not None
    # Stripe stays the source of truth for what is paid: a newer event overrides the grant
    assert deliver(api, stripe.cancel(sub_id)) == ["applied"]
    assert billing(api, owner)["tier"] == "FREE"


@pytest.fixture
def unconfigured(api_settings: Settings) -> Settings:
    for name in ("stripe_secret_key", "stripe_webhook_secret", "stripe_api_base"):
        setattr(api_settings, name, None)
    api_settings.stripe_prices = ""
    return api_settings


def test_without_stripe_settings_billing_says_so_and_the_rest_works(
    unconfigured: Settings, api: Api, stripe: FakeStripe
) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    calls = len(stripe.requests)
    for path, body in (("/api/billing/checkout", {"tier": "PRO"}), ("/api/billing/portal", None)):
        response = api.post(path, json=body, headers=owner.headers)
        assert response.status_code == 503, path
        error = response.json()["error"]
        assert error["code"] == "billing_not_configured"
        assert "UAB_STRIPE_SECRET_KEY" in error["message"]
    body, headers = signed(stripe.event("invoice.paid", {"customer": "cus_x"}))
    hook = api.post(WEBHOOK, content=body, headers=headers)
    assert (hook.status_code, hook.json()["error"]["code"]) == (503, "billing_not_configured")
    state = billing(api, owner)
    assert (state["configured"], state["effective_tier"], state["offered"]) == (False, "FREE", {})
    plans = api.get("/api/billing/plans").json()
    assert [plan["intervals"] for plan in plans] == [[], [], [], []]  # nothing on sale
    assert api.project(owner)["template"] == "BLOG"  # everything else works
    assert len(stripe.requests) == calls  # Stripe was never called


# --- the pricing and plan pages (the browser journey is tests/browser/test_billing_ui.py) ---

HTML = {"accept": "text/html"}


@pytest.mark.parametrize("grace_days", [3.0])
def test_the_pricing_and_plan_pages_buy_manage_and_show_a_failed_payment(
    api: Api, stripe: FakeStripe
) -> None:
    anonymous = api.get("/pricing", headers=HTML)
    assert anonymous.status_code == 200
    assert "Sign up to choose Pro" in anonymous.text
    assert 'action="/pricing/checkout"' not in anonymous.text
    # its forms go on to Stripe (and the test's Stripe): the policy names where, nothing more
    policy = anonymous.headers["content-security-policy"]
    assert (
        f"form-action 'self' https://checkout.stripe.com https://billing.stripe.com {stripe.url};"
        in policy
    )
    assert len(anonymous.headers.get_list("content-security-policy")) == 1

    owner = api.account(tier=SubscriptionTier.FREE)
    api.cookies.set("uab_session", owner.token)
    pricing = api.get("/pricing", headers=HTML)
    assert 'id="plan-free"' in pricing.text
    assert "your plan" in pricing.text
    assert "Choose Pro, billed monthly" in pricing.text
    token = token_of(pricing)

    checkouts = len(stripe.calls("/v1/checkout/sessions"))
    refused = api.post("/pricing/checkout", data={"tier": "PRO"}, headers=HTML)
    assert refused.status_code == 403  # no token: no checkout
    assert len(stripe.calls("/v1/checkout/sessions")) == checkouts  # Stripe never asked
    for tier, interval, status in (("GOLD", "month", 422), ("PRO", "weekly", 422)):
        bad = api.post(
            "/pricing/checkout",
            data={"csrf_token": token, "tier": tier, "interval": interval},
            headers=HTML,
        )
        assert bad.status_code == status
        assert 'id="billing-error"' in bad.text

    chosen = api.post("/pricing/checkout", data={"csrf_token": token, "tier": "PRO"}, headers=HTML)
    assert chosen.status_code == 303
    assert chosen.headers["location"].startswith(f"{stripe.url}/pay/cs_test_")
    session_id = chosen.headers["location"].rsplit("/", 1)[1]
    events = stripe.complete_checkout(session_id)
    assert deliver(api, events) == ["applied"] * 3
    sub_id = str(events[1]["data"]["object"]["id"])

    plan = api.get("/account/plan?checkout=success", headers=HTML)
    assert plan.status_code == 200
    assert 'id="plan-tier">Pro<' in plan.text
    assert 'id="plan-status">active<' in plan.text
    assert "Stripe is confirming your payment" in plan.text
    again = api.post(
        "/pricing/checkout", data={"csrf_token": token_of(plan), "tier": "STARTER"}, headers=HTML
    )
    assert again.status_code == 409
    assert "billing portal" in again.text

    portal = api.post("/account/plan/portal", data={"csrf_token": token_of(plan)}, headers=HTML)
    assert portal.status_code == 303
    assert portal.headers["location"].startswith(f"{stripe.url}/portal/bps_")

    deliver(api, stripe.fail_payment(sub_id))
    due = api.get("/account/plan", headers=HTML)
    assert 'id="plan-status">past due<' in due.text
    assert "Your last payment failed." in due.text
    assert 'id="plan-effective">Pro<' in due.text
    deliver(api, stripe.cancel(sub_id))
    ended = api.get("/account/plan", headers=HTML)
    assert 'id="plan-tier">Free<' in ended.text
    assert 'id="plan-status">canceled<' in ended.text


def test_the_pages_say_when_billing_is_not_configured(
    unconfigured: Settings, api: Api, stripe: FakeStripe
) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    api.cookies.set("uab_session", owner.token)
    pricing = api.get("/pricing", headers=HTML)
    assert 'id="billing-not-configured"' in pricing.text
    assert 'action="/pricing/checkout"' not in pricing.text  # no button that cannot work
    plan = api.get("/account/plan", headers=HTML)
    assert 'id="billing-not-configured"' in plan.text
    assert "Manage billing" not in plan.text
    calls = len(stripe.requests)
    forced = api.post(
        "/pricing/checkout", data={"csrf_token": token_of(plan), "tier": "PRO"}, headers=HTML
    )
    assert forced.status_code == 503
    assert "UAB_STRIPE_SECRET_KEY" in forced.text
    assert len(stripe.requests) == calls


@pytest.mark.parametrize("grace_days", [0.0])
def test_a_downgraded_account_is_refused_more_deployments_and_offered_the_plans(
    api: Api, stripe: FakeStripe
) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    sub_id = subscribe(api, stripe, owner, "PRO")
    project = api.project(owner)
    deliver(api, stripe.fail_payment(sub_id))  # no grace: FREE's limits hold at once
    refused = api.post(
        f"/api/projects/{project['id']}/deployments",
        json={"target": "docker"},
        headers=owner.headers,
    )
    assert refused.status_code == 402, refused.text
    details = refused.json()["error"]["details"]
    assert (details["limit"], details["tier"]) == ("deploy_targets", "FREE")

    # the web UI's refusals at a limit offer the plans
    for i in range(2):
        api.project(owner, name=f"more {i}")
    api.cookies.set("uab_session", owner.token)
    new = api.get("/projects/new", headers=HTML)
    over = api.post(
        "/projects/new/template",
        data={"csrf_token": token_of(new), "template": "BLOG", "name": "one too many"},
        headers=HTML,
    )
    assert over.status_code == 402
    assert 'id="upgrade-offer"' in over.text
    assert 'href="/pricing"' in over.text


def test_a_past_due_plan_beyond_grace_runs_fewer_apps_at_once(api: Api, engine: Engine) -> None:
    """Live deployments are counted against the limits in force, not the tier paid for."""
    owner = api.account(tier=SubscriptionTier.PRO)
    past = datetime.now(UTC) - timedelta(days=1)
    with make_session_factory(engine)() as session, session.begin():
        user = session.get_one(User, owner.id)
        user.subscription_status = SubscriptionStatus.PAST_DUE
        user.subscription_grace_ends_at = past
        quotas.ensure_live_deployment_allowed(session, user, running=0)
        with pytest.raises(QuotaExceededError) as refused:
            quotas.ensure_live_deployment_allowed(session, user, running=1)
    assert refused.value.details["tier"] == "FREE"
