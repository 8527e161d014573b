"""The pricing page and the account's plan page: what each tier allows, buying one through
Stripe Checkout, and the plan's state (past due, grace, renewal) with the customer portal.

The plan changes only when Stripe's signed webhook says so (services/billing/webhooks);
these pages send the browser to Stripe and show what the webhook recorded. Their forms
redirect to Stripe's pages, so their Content-Security-Policy lets forms go there."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from appbuilder.enums import SubscriptionTier
from appbuilder.errors import AppBuilderError
from appbuilder.services.billing import checkout
from appbuilder.services.billing.state import billing_state, plan_catalogue
from appbuilder.settings import BillingSettings
from appbuilder.web.deps import SessionDep, SettingsDep
from appbuilder.web.errors import status_for
from appbuilder.web.ui.deps import MaybePrincipal, UserDep, check_csrf, optional_principal
from appbuilder.web.ui.headers import CSP
from appbuilder.web.ui.pages_account import LIMIT_LABELS
from appbuilder.web.ui.render import redirect, render

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(check_csrf), Depends(optional_principal)]
)
FormText = Annotated[str, Form(max_length=64)]
#: where Stripe's hosted Checkout and customer portal live
STRIPE_PAGES = ("https://checkout.stripe.com", "https://billing.stripe.com")
CHECKOUT_MESSAGES = {
    "success": (
        "Thank you. Stripe is confirming your payment; your plan changes as soon as it "
        "does (reload this page in a moment)."
    ),
    "cancelled": "Checkout was cancelled; nothing was charged and your plan is unchanged.",
}


def _page_csp(settings: BillingSettings) -> str:
    """The UI's policy with Stripe's pages (and a configured test server's) as form targets:
    a form whose answer redirects elsewhere is blocked unless ``form-action`` names it."""
    targets = list(STRIPE_PAGES)
    if settings.api_base:
        parts = urlsplit(settings.api_base)
        targets.append(f"{parts.scheme}://{parts.netloc}")
    return CSP.replace("form-action 'self'", "form-action 'self' " + " ".join(targets))


def _render(
    request: Request, settings: BillingSettings, template: str, context: dict[str, Any], status: int
) -> Response:
    response = render(request, template, context, status)
    response.headers["content-security-policy"] = _page_csp(settings)
    return response


def _pricing(
    request: Request,
    settings: SettingsDep,
    principal: MaybePrincipal,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    billing = settings.billing
    current = principal.user.subscription_tier if principal else None
    context = {
        "offers": plan_catalogue(billing),
        "configured": billing.configured,
        "current": current,
        "free": SubscriptionTier.FREE,
        "error": error,
        "notice": CHECKOUT_MESSAGES.get(request.query_params.get("checkout", "")),
        "page_title": "Pricing",
    }
    return _render(request, billing, "pricing.html", context, status)


@router.get("/pricing")
def pricing_page(request: Request, settings: SettingsDep, principal: MaybePrincipal) -> Response:
    return _pricing(request, settings, principal)


@router.post("/pricing/checkout")
def choose_plan(
    request: Request,
    principal: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    tier: FormText = "",
    interval: FormText = "month",
) -> Response:
    """Off to Stripe Checkout; a refusal (not offered, already subscribed, Stripe down)
    comes back as the pricing page with the reason."""
    try:
        chosen = SubscriptionTier(tier)
    except ValueError:
        return _pricing(
            request, settings, principal, error=f"There is no plan called {tier!r}.", status=422
        )
    if interval not in ("month", "year"):
        return _pricing(
            request, settings, principal, error="Choose monthly or yearly billing.", status=422
        )
    try:
        url = checkout.start_checkout(
            session,
            session.merge(principal.user),
            settings.billing,
            tier=chosen,
            interval="month" if interval == "month" else "year",
            return_url=checkout.return_base(settings.billing, str(request.base_url)),
        )
    except AppBuilderError as exc:
        session.rollback()
        return _pricing(request, settings, principal, error=exc.message, status=status_for(exc))
    return redirect(url)


def _plan(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    state = billing_state(session, principal.user, settings.billing)
    context = {
        "state": state,
        "labels": LIMIT_LABELS,
        "error": error,
        "notice": CHECKOUT_MESSAGES.get(request.query_params.get("checkout", "")),
        "page_title": "Your plan",
    }
    return _render(request, settings.billing, "account_plan.html", context, status)


@router.get("/account/plan")
def plan_page(
    request: Request, principal: UserDep, session: SessionDep, settings: SettingsDep
) -> Response:
    return _plan(request, session, settings, principal)


@router.post("/account/plan/portal")
def manage_billing(
    request: Request, principal: UserDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """Stripe's customer portal: change plan or card, see invoices, cancel."""
    try:
        back = checkout.return_base(settings.billing, str(request.base_url))
        url = checkout.portal_link(principal.user, settings.billing, back)
    except AppBuilderError as exc:
        return _plan(
            request, session, settings, principal, error=exc.message, status=status_for(exc)
        )
    return redirect(url)
