"""Your plan: what you pay for and use, Stripe Checkout to subscribe, the customer portal
to change or cancel, and the webhook through which Stripe tells us what happened."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from starlette.concurrency import run_in_threadpool

from appbuilder.services.billing import checkout, webhooks
from appbuilder.services.billing.state import billing_state, plan_catalogue
from appbuilder.web.billing_schemas import (
    BillingOut,
    CheckoutIn,
    PlanOut,
    RedirectOut,
    WebhookOut,
)
from appbuilder.web.deps import PrincipalDep, SessionDep, SettingsDep
from appbuilder.web.errors import AUTH_RESPONSES, CONFLICT, Responses, describe, merge

router = APIRouter(prefix="/api/billing", tags=["billing"])
NOT_CONFIGURED: Responses = {503: describe("Billing is not configured on this server")}
PROVIDER: Responses = {502: describe("Stripe refused or could not be reached")}


def _return_url(request: Request, settings: SettingsDep) -> str:
    return checkout.return_base(settings.billing, str(request.base_url))


@router.get("", response_model=BillingOut, responses=AUTH_RESPONSES)
def read_billing(principal: PrincipalDep, session: SessionDep, settings: SettingsDep) -> BillingOut:
    """Your plan, its status and renewal date, the limits that hold now and your usage."""
    return BillingOut.of(billing_state(session, principal.user, settings.billing))


@router.get("/plans", response_model=list[PlanOut])
def list_plans(settings: SettingsDep) -> list[PlanOut]:
    """Every tier's limits and how it can be bought here (public: the pricing page)."""
    return [PlanOut.of(offer) for offer in plan_catalogue(settings.billing)]


@router.post(
    "/checkout",
    response_model=RedirectOut,
    responses=merge(AUTH_RESPONSES, CONFLICT, NOT_CONFIGURED, PROVIDER),
)
def start_checkout(
    body: CheckoutIn,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
) -> RedirectOut:
    """A Stripe Checkout page subscribing you to a paid tier; your plan changes once paid."""
    url = checkout.start_checkout(
        session,
        principal.user,
        settings.billing,
        tier=body.tier,
        interval=body.interval,
        return_url=_return_url(request, settings),
    )
    return RedirectOut(url=url)


@router.post(
    "/portal",
    response_model=RedirectOut,
    responses=merge(AUTH_RESPONSES, CONFLICT, NOT_CONFIGURED, PROVIDER),
)
def open_portal(principal: PrincipalDep, request: Request, settings: SettingsDep) -> RedirectOut:
    """A Stripe customer portal page: change plan or card, see invoices, cancel."""
    url = checkout.portal_link(principal.user, settings.billing, _return_url(request, settings))
    return RedirectOut(url=url)


@router.post(
    "/webhook",
    response_model=WebhookOut,
    responses={400: describe("Unsigned, wrongly signed or stale"), **NOT_CONFIGURED},
)
async def stripe_webhook(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    stripe_signature: Annotated[str | None, Header()] = None,
) -> WebhookOut:
    """Stripe's events (signed); each is applied once, and never over newer state."""
    payload = await request.body()
    outcome = await run_in_threadpool(
        webhooks.handle, session, settings.billing, payload, stripe_signature
    )
    return WebhookOut(outcome=outcome.outcome)
