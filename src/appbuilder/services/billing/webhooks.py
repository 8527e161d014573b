"""Stripe's webhook: verified, applied once, in order.

- Verified exactly as Stripe signs (``Stripe-Signature: t=…,v1=HMAC-SHA256("t.body")``)
  by the ``stripe`` library itself: unsigned, wrongly signed and stale (older than five
  minutes) requests change nothing.
- Idempotent by event id: each event processed gets a ``stripe_events`` row in the same
  transaction as the change it makes, so a replay finds it and changes nothing.
- In order: the user's row is locked, and an event created before the newest one applied
  to that user (``users.billing_updated_at``) is recorded as stale without applying it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.orm import Session

from appbuilder.db.models import StripeEvent, User
from appbuilder.enums import SubscriptionStatus, SubscriptionTier
from appbuilder.errors import BillingNotConfiguredError, WebhookSignatureError
from appbuilder.services.billing.checkout import tier_of_price
from appbuilder.settings import BillingSettings

log = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300
Obj = dict[str, Any]
#: Stripe's subscription statuses, narrowed to ours; absent ones (incomplete) change nothing
STATUS_OF = {
    "active": SubscriptionStatus.ACTIVE,
    "trialing": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.PAST_DUE,
    "canceled": SubscriptionStatus.CANCELED,
    "incomplete_expired": SubscriptionStatus.CANCELED,
    "paused": SubscriptionStatus.CANCELED,
}


@dataclass(frozen=True)
class Outcome:
    event_id: str
    #: applied, stale, ignored, or duplicate (processed before: nothing done)
    outcome: str
    user_id: str | None = None


def verified_event(payload: bytes, signature: str | None, settings: BillingSettings) -> Obj:
    secret = settings.webhook_secret
    if secret is None or not secret.get_secret_value():
        raise BillingNotConfiguredError(
            "Stripe webhooks are not configured on this server: set UAB_STRIPE_WEBHOOK_SECRET.",
            setting="UAB_STRIPE_WEBHOOK_SECRET",
        )
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature, secret.get_secret_value(), TOLERANCE_SECONDS
        )
        event: Obj = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise WebhookSignatureError(
            "The request is not a webhook signed by Stripe for this endpoint (missing, wrong "
            "or stale Stripe-Signature)."
        ) from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise WebhookSignatureError("A signed body that is not a Stripe event was refused.")
    if not isinstance(event.get("created"), int):
        raise WebhookSignatureError("A signed body that is not a Stripe event was refused.")
    return event


def handle(
    session: Session, settings: BillingSettings, payload: bytes, signature: str | None
) -> Outcome:
    """Verify and apply one delivery; the caller's transaction commits change and record."""
    event = verified_event(payload, signature, settings)
    event_id: str = event["id"]
    obj = _dict(_dict(event.get("data")).get("object"))
    user = _user_of(session, obj, locked=True)
    if session.get(StripeEvent, event_id) is not None:
        return Outcome(event_id, "duplicate", user.id if user else None)
    created = datetime.fromtimestamp(event["created"], UTC)
    apply = HANDLERS.get(event.get("type", ""))
    if user is None or apply is None:
        outcome = "ignored"
    elif user.billing_updated_at is not None and created < user.billing_updated_at:
        outcome = "stale"
    else:
        outcome = "applied" if apply(user, obj, created, settings) else "ignored"
        if outcome == "applied":
            user.billing_updated_at = created
    session.add(
        StripeEvent(
            id=event_id,
            type=str(event.get("type", ""))[:100],
            created=created,
            user_id=user.id if user else None,
            outcome=outcome,
        )
    )
    session.flush()
    return Outcome(event_id, outcome, user.id if user else None)


def _user_of(session: Session, obj: Obj, *, locked: bool) -> User | None:
    """The user an object is about: by its customer, or (a checkout) the user it was
    started for, when that user has no other customer."""
    customer = obj.get("customer")
    statement = select(User).where(User.stripe_customer_id == customer)
    if locked:
        statement = statement.with_for_update()
    user = session.scalars(statement).first() if isinstance(customer, str) else None
    reference = obj.get("client_reference_id")
    if user is None and obj.get("object") == "checkout.session" and isinstance(reference, str):
        user = session.get(User, reference, with_for_update=locked)
        if user is not None and user.stripe_customer_id not in (None, customer):
            return None
    return user


# --- what each event does; each returns False when it does not concern the user's state


def _checkout_completed(user: User, obj: Obj, _at: datetime, _s: BillingSettings) -> bool:
    tier = _dict(obj.get("metadata")).get("tier")
    if obj.get("mode") != "subscription" or tier not in _paid_tiers():
        return False
    user.stripe_customer_id = user.stripe_customer_id or _text(obj.get("customer"))
    user.stripe_subscription_id = _text(obj.get("subscription")) or user.stripe_subscription_id
    _activate(user, SubscriptionTier(tier))
    return True


def _subscription_changed(user: User, obj: Obj, at: datetime, settings: BillingSettings) -> bool:
    status = STATUS_OF.get(str(obj.get("status")))
    current = user.stripe_subscription_id
    if status is None or (current not in (None, obj.get("id")) and status is not _ACTIVE):
        return False  # an old subscription's news, or one not paid for yet
    tier = _tier_of_subscription(obj, settings)
    if status is SubscriptionStatus.ACTIVE and tier is None:
        log.warning(
            "subscription %s has no price of UAB_STRIPE_PRICES: its tier is unknown, "
            "the user's plan is left as it was",
            obj.get("id"),
        )
        return False
    user.stripe_subscription_id = _text(obj.get("id"))
    user.subscription_period_end = _period_end(obj)
    if tier is not None and status is SubscriptionStatus.ACTIVE:
        _activate(user, tier)
    elif status is SubscriptionStatus.PAST_DUE:
        _past_due(user, at, settings)
    else:
        _cancel(user)
    return True


def _subscription_deleted(user: User, obj: Obj, _at: datetime, _s: BillingSettings) -> bool:
    if user.stripe_subscription_id not in (None, obj.get("id")):
        return False
    user.subscription_period_end = _period_end(obj)
    _cancel(user)
    return True


def _invoice_paid(user: User, obj: Obj, _at: datetime, _s: BillingSettings) -> bool:
    if not _about_current(user, obj) or user.subscription_status == SubscriptionStatus.CANCELED:
        return False
    user.subscription_status = SubscriptionStatus.ACTIVE
    user.subscription_grace_ends_at = None
    return True


def _invoice_failed(user: User, obj: Obj, at: datetime, settings: BillingSettings) -> bool:
    if not _about_current(user, obj) or user.subscription_status == SubscriptionStatus.CANCELED:
        return False
    _past_due(user, at, settings)
    return True


_ACTIVE = SubscriptionStatus.ACTIVE
HANDLERS: dict[str, Callable[[User, Obj, datetime, BillingSettings], bool]] = {
    "checkout.session.completed": _checkout_completed,
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_deleted,
    "invoice.paid": _invoice_paid,
    "invoice.payment_failed": _invoice_failed,
}


def _paid_tiers() -> set[str]:
    return {tier.value for tier in SubscriptionTier if tier is not SubscriptionTier.FREE}


def _activate(user: User, tier: SubscriptionTier) -> None:
    user.subscription_tier = tier
    user.subscription_status = SubscriptionStatus.ACTIVE
    user.subscription_grace_ends_at = None


def _past_due(user: User, at: datetime, settings: BillingSettings) -> None:
    """The grace runs from the first failure; later failures do not extend it."""
    if (
        user.subscription_status != SubscriptionStatus.PAST_DUE
        or not user.subscription_grace_ends_at
    ):
        user.subscription_grace_ends_at = at + settings.grace
    user.subscription_status = SubscriptionStatus.PAST_DUE


def _cancel(user: User) -> None:
    """FREE's limits from now on; the projects stay (see services.quotas)."""
    user.subscription_tier = SubscriptionTier.FREE
    user.subscription_status = SubscriptionStatus.CANCELED
    user.subscription_grace_ends_at = None


def _items(obj: Obj) -> list[Obj]:
    data = _dict(obj.get("items")).get("data")
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _tier_of_subscription(obj: Obj, settings: BillingSettings) -> SubscriptionTier | None:
    """By the price paid, never the metadata written at checkout: a plan changed in the
    portal keeps the old metadata."""
    for item in _items(obj):
        tier = tier_of_price(settings, _text(_dict(item.get("price")).get("id")))
        if tier is not None:
            return tier
    return None


def _period_end(obj: Obj) -> datetime | None:
    """Stripe's API moved ``current_period_end`` onto the items (2025-03-31): read both."""
    ends = [obj.get("current_period_end")] + [i.get("current_period_end") for i in _items(obj)]
    stamp = next((e for e in ends if isinstance(e, int)), None)
    return datetime.fromtimestamp(stamp, UTC) if stamp is not None else None


def _about_current(user: User, invoice: Obj) -> bool:
    """An invoice of the user's current subscription (its id where Stripe's API version
    puts it: ``subscription``, or ``parent.subscription_details.subscription``)."""
    details = _dict(_dict(invoice.get("parent")).get("subscription_details"))
    subscription = invoice.get("subscription") or details.get("subscription")
    return user.stripe_subscription_id is not None and subscription in (
        None,
        user.stripe_subscription_id,
    )


def _dict(value: object) -> Obj:
    """Stripe's objects read defensively: a field of another shape is taken as absent."""
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
