"""The one place a Stripe client is made and Stripe's errors are translated: the rest of
billing never sees a key or a ``stripe`` exception."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import stripe

from appbuilder.errors import BillingNotConfiguredError, PaymentProviderError
from appbuilder.settings import BillingSettings

T = TypeVar("T")
NOT_CONFIGURED = (
    "Billing is not configured on this server: the operator sets UAB_STRIPE_SECRET_KEY, "
    "UAB_STRIPE_PRICES and UAB_STRIPE_WEBHOOK_SECRET. Plans can still be set by an admin."
)


def require_configured(settings: BillingSettings) -> None:
    if not settings.configured:
        raise BillingNotConfiguredError(NOT_CONFIGURED, setting="UAB_STRIPE_SECRET_KEY")


def client(settings: BillingSettings) -> stripe.StripeClient:
    require_configured(settings)
    assert settings.secret_key is not None  # noqa: S101 - checked by require_configured
    return stripe.StripeClient(
        settings.secret_key.get_secret_value(),
        base_addresses={"api": settings.api_base} if settings.api_base else {},
        max_network_retries=1,
    )


@contextmanager
def translated_errors(action: str) -> Iterator[None]:
    """Stripe's failures as PaymentProviderError (502), saying what failed, not the key."""
    try:
        yield
    except stripe.AuthenticationError as exc:
        raise PaymentProviderError(
            f"Stripe refused this server's key while trying to {action}; the operator "
            "should check UAB_STRIPE_SECRET_KEY.",
            stripe_code=exc.code,
        ) from exc
    except stripe.StripeError as exc:
        raise PaymentProviderError(
            f"Stripe could not {action} ({type(exc).__name__}"
            f"{': ' + exc.code if exc.code else ''}); try again in a moment.",
            stripe_code=exc.code,
        ) from exc


def call(action: str, request: Callable[[], T]) -> T:
    with translated_errors(action):
        return request()
