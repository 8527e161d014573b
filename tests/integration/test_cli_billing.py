"""`uab billing plans` and `uab billing show` as an operator runs them: the console script
in a real subprocess, on the test's database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from appbuilder.db.session import make_session_factory
from appbuilder.enums import SubscriptionStatus, SubscriptionTier
from tests.factories import make_project, make_user
from tests.fake_stripe import PRICES_JSON
from tests.integration.test_cli import uab


def test_billing_show_tells_the_plan_the_limits_that_hold_and_usage(engine: Engine) -> None:
    lapsed = datetime.now(UTC) - timedelta(days=1)  # a grace period already over
    with make_session_factory(engine).begin() as session:
        user = make_user(
            session,
            email="payer@example.com",
            subscription_tier=SubscriptionTier.PRO,
            subscription_status=SubscriptionStatus.PAST_DUE,
            subscription_grace_ends_at=lapsed,
            stripe_customer_id="cus_42",
        )
        for _ in range(4):
            make_project(session, user)
    shown = uab("billing", "show", "payer@example.com")
    assert shown.returncode == 0, shown.stderr
    lines = {
        name.strip(): value.strip()
        for name, _, value in (line.partition(":") for line in shown.stdout.splitlines())
    }
    assert (lines["tier"], lines["limits of"], lines["status"]) == ("PRO", "FREE", "past_due")
    assert lines["stripe customer"] == "cus_42"
    assert lines["projects"] == "4 of 3"
    missing = uab("billing", "show", "nobody@example.com")
    assert missing.returncode == 1
    assert "not found" in missing.stderr.lower()


def test_billing_plans_lists_each_tier_and_what_is_on_sale() -> None:
    unsold = uab("billing", "plans").stdout
    assert next(line for line in unsold.splitlines() if "PRO" in line).rstrip(" │").endswith("-")
    sold = uab(
        "billing",
        "plans",
        env={"UAB_STRIPE_SECRET_KEY": "sk_test_x", "UAB_STRIPE_PRICES": PRICES_JSON},
    ).stdout
    pro = next(line for line in sold.splitlines() if "PRO" in line)
    assert "month, year" in pro
    assert "50" in pro
