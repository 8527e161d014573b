"""Request and response bodies of the billing API (``/api/billing``, and the admin's view)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from appbuilder.enums import ProjectTemplate, SubscriptionTier
from appbuilder.services.billing.state import BillingState, PlanOffer
from appbuilder.web.schemas import UsageLineOut


class CheckoutIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"tier": "PRO", "interval": "month"}]}
    )
    tier: SubscriptionTier
    interval: Literal["month", "year"] = "month"


class RedirectOut(BaseModel):
    url: str = Field(description="Send the user's browser here (a Stripe page).")


class BillingOut(BaseModel):
    configured: bool = Field(description="false: this server has no Stripe settings")
    tier: SubscriptionTier = Field(description="The tier paid for (or granted by an admin)")
    effective_tier: SubscriptionTier = Field(
        description="The tier whose limits hold now: FREE once a past-due grace is over"
    )
    status: str | None = Field(description="active, past_due, canceled; null: never subscribed")
    renews_at: datetime | None
    grace_ends_at: datetime | None = Field(description="past_due: when FREE's limits apply")
    has_billing_account: bool
    granted_by_id: str | None
    granted_at: datetime | None
    usage: list[UsageLineOut]
    offered: dict[str, list[str]] = Field(description="Paid tiers on offer and their intervals")

    @classmethod
    def of(cls, state: BillingState) -> BillingOut:
        return cls(
            configured=state.configured,
            tier=state.tier,
            effective_tier=state.effective_tier,
            status=state.status,
            renews_at=state.renews_at,
            grace_ends_at=state.grace_ends_at,
            has_billing_account=state.has_billing_account,
            granted_by_id=state.granted_by_id,
            granted_at=state.granted_at,
            usage=[
                UsageLineOut(limit=line.limit, used=line.used, allowed=line.allowed)
                for line in state.usage.lines
            ],
            offered=state.offered,
        )


class WebhookOut(BaseModel):
    received: bool = True
    outcome: str = Field(description="applied, stale, ignored or duplicate")


class PlanOut(BaseModel):
    tier: SubscriptionTier
    intervals: list[str] = Field(description="Billing intervals on offer; empty: not sold here")
    projects: int | None = Field(description="null means unlimited (so for every count)")
    generations_per_month: int | None
    tokens_per_month: int | None
    tokens_per_run: int | None
    concurrent_generations: int | None
    templates: list[ProjectTemplate]
    deploy_targets: list[str]

    @classmethod
    def of(cls, offer: PlanOffer) -> PlanOut:
        limits = offer.limits
        return cls(
            tier=offer.tier,
            intervals=offer.intervals,
            projects=limits.projects,
            generations_per_month=limits.generations_per_month,
            tokens_per_month=limits.tokens_per_month,
            tokens_per_run=limits.tokens_per_run,
            concurrent_generations=limits.concurrent_generations,
            templates=[t for t in ProjectTemplate if t in limits.templates],
            deploy_targets=sorted(limits.deploy_targets),
        )
