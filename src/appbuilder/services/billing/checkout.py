"""Sending a user to Stripe: a Checkout Session to subscribe to a paid tier, and the
customer portal to change or cancel it. The Stripe customer is created once per user
(the row is locked, and Stripe's idempotency key makes a race return the same customer)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from appbuilder.db.models import User
from appbuilder.enums import SubscriptionStatus, SubscriptionTier
from appbuilder.errors import ConflictError, ValidationError
from appbuilder.services.billing import stripe_client
from appbuilder.settings import BillingSettings

Interval = Literal["month", "year"]


def return_base(settings: BillingSettings, request_base: str) -> str:
    """Where Stripe sends the browser back to: the configured public address (behind a
    proxy the request's own address is not the one people use), else the request's."""
    return settings.return_url or request_base.rstrip("/")


def price_id(settings: BillingSettings, tier: SubscriptionTier, interval: Interval) -> str:
    """The configured price of ``tier`` billed every ``interval``; 422 naming the field."""
    if tier is SubscriptionTier.FREE:
        raise ValidationError("tier", "paid", "FREE needs no checkout: choose a paid tier.")
    price = settings.prices.get(tier.value, {}).get(interval)
    if not price:
        offered = ", ".join(f"{t} ({'/'.join(i)})" for t, i in settings.prices.items())
        raise ValidationError(
            "interval" if settings.prices.get(tier.value) else "tier",
            "offered",
            f"{tier.value} billed every {interval} is not offered here; offered: "
            f"{offered or 'none'}.",
        )
    return price


def tier_of_price(settings: BillingSettings, price: str | None) -> SubscriptionTier | None:
    for tier, intervals in settings.prices.items():
        if price in intervals.values():
            return SubscriptionTier(tier)
    return None


def ensure_customer(session: Session, user: User, settings: BillingSettings) -> str:
    """The user's Stripe customer id, created on first use and kept (unique per user)."""
    session.refresh(user, with_for_update=True)
    if user.stripe_customer_id:
        return user.stripe_customer_id
    stripe = stripe_client.client(settings)
    customer = stripe_client.call(
        "create your billing account",
        lambda: stripe.v1.customers.create(
            params={"email": user.email, "name": user.name or "", "metadata": {"user_id": user.id}},
            options={"idempotency_key": f"uab-customer-{user.id}"},
        ),
    )
    user.stripe_customer_id = customer.id
    session.flush()
    return customer.id


def start_checkout(
    session: Session,
    user: User,
    settings: BillingSettings,
    *,
    tier: SubscriptionTier,
    interval: Interval,
    return_url: str,
) -> str:
    """The address of a Stripe Checkout page subscribing ``user`` to ``tier``; the tier
    changes when Stripe's webhook confirms the payment, not here."""
    stripe_client.require_configured(settings)
    price = price_id(settings, tier, interval)
    if user.stripe_subscription_id and user.subscription_status in (
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE,
    ):
        raise ConflictError(
            "You already have a subscription: change or cancel it in the billing portal "
            "(Manage billing on your plan page, or the API's /api/billing/portal).",
            subscription_status=user.subscription_status,
        )
    customer = ensure_customer(session, user, settings)
    stripe = stripe_client.client(settings)
    metadata = {"user_id": user.id, "tier": tier.value}
    checkout = stripe_client.call(
        "start a checkout",
        lambda: stripe.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": customer,
                "client_reference_id": user.id,
                "line_items": [{"price": price, "quantity": 1}],
                "success_url": f"{return_url}/account/plan?checkout=success",
                "cancel_url": f"{return_url}/pricing?checkout=cancelled",
                "metadata": metadata,
                "subscription_data": {"metadata": metadata},
            }
        ),
    )
    if not checkout.url:
        raise ConflictError("Stripe returned a checkout without a page to send you to.")
    return checkout.url


def portal_link(user: User, settings: BillingSettings, return_url: str) -> str:
    """A Stripe customer portal address where the user changes plan, card or cancels."""
    stripe_client.require_configured(settings)
    if not user.stripe_customer_id:
        raise ConflictError(
            "You have no billing account yet: choose a plan first (the pricing page, or the "
            "API's /api/billing/checkout)."
        )
    stripe = stripe_client.client(settings)
    customer = user.stripe_customer_id
    portal = stripe_client.call(
        "open the billing portal",
        lambda: stripe.v1.billing_portal.sessions.create(
            params={"customer": customer, "return_url": f"{return_url}/account/plan"}
        ),
    )
    return portal.url
