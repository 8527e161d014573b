"""What a user (or an admin looking at them) sees of billing: the tier paid for or
granted, the tier whose limits hold now, the subscription's status and dates, usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from appbuilder.db.models import User
from appbuilder.enums import SubscriptionTier
from appbuilder.services import quotas
from appbuilder.settings import BillingSettings


@dataclass(frozen=True)
class BillingState:
    configured: bool
    tier: SubscriptionTier
    #: the tier whose limits hold now: FREE once a past-due subscription's grace is over
    effective_tier: SubscriptionTier
    status: str | None
    renews_at: datetime | None
    grace_ends_at: datetime | None
    has_billing_account: bool
    granted_by_id: str | None
    granted_at: datetime | None
    usage: quotas.Usage
    #: paid tiers on offer here and their billing intervals (empty: not configured)
    offered: dict[str, list[str]]


def billing_state(session: Session, user: User, settings: BillingSettings) -> BillingState:
    return BillingState(
        configured=settings.configured,
        tier=user.subscription_tier,
        effective_tier=quotas.effective_tier(user),
        status=user.subscription_status,
        renews_at=user.subscription_period_end,
        grace_ends_at=user.subscription_grace_ends_at,
        has_billing_account=user.stripe_customer_id is not None,
        granted_by_id=user.tier_granted_by_id,
        granted_at=user.tier_granted_at,
        usage=quotas.usage(session, user),
        offered=(
            {tier: sorted(intervals) for tier, intervals in settings.prices.items()}
            if settings.configured
            else {}
        ),
    )


@dataclass(frozen=True)
class PlanOffer:
    """One tier as the pricing page shows it: its limits and how it can be bought here."""

    tier: SubscriptionTier
    limits: quotas.TierLimits
    #: billing intervals on offer ("month", "year"); empty for FREE or when not sold here
    intervals: list[str]


def plan_catalogue(settings: BillingSettings) -> list[PlanOffer]:
    """Every tier, cheapest first (the order of ``quotas.TIER_ORDER``)."""
    return [
        PlanOffer(
            tier=tier,
            limits=quotas.TIER_LIMITS[tier],
            intervals=sorted(settings.prices.get(tier.value, {})) if settings.configured else [],
        )
        for tier in quotas.TIER_ORDER
    ]
