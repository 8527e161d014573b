"""Schemathesis against our own OpenAPI schema, on a live server: generated requests (valid
and not) must never get a 5xx, and every response must match what the schema documents
(status code, content type, headers, body).

The operations are driven through schemathesis' Python API (``as_strategy``) rather than its
pytest plugin, whose fixture loader does not run under pytest 9.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis import checks

from appbuilder.enums import SubscriptionTier, UserRole
from appbuilder.settings import Settings
from tests.fake_stripe import PRICES_JSON, SECRET_KEY, WEBHOOK_SECRET, fake_stripe
from tests.integration.api.conftest import Api

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
EXAMPLES_PER_OPERATION = 25
#: log-out would revoke the very token the run authenticates with
SKIPPED = {("POST", "/api/auth/logout")}


@pytest.fixture
def api_settings(api_settings: Settings) -> Iterator[Settings]:
    """Billing configured against a local Stripe, so its routes are exercised too (without
    it they answer 503 billing_not_configured, which is tested in test_billing)."""
    with fake_stripe() as stripe:
        yield api_settings.model_copy(
            update={
                "stripe_secret_key": SecretStr(SECRET_KEY),
                "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
                "stripe_prices": PRICES_JSON,
                "stripe_api_base": stripe.url,
            }
        )


@pytest.fixture
def super_admin(api: Api) -> dict[str, str]:
    """A credential that may call every route, so generated requests reach the handlers."""
    account = api.account(role=UserRole.SUPER_ADMIN, tier=SubscriptionTier.ENTERPRISE)
    api.project(account, name="fuzz target")
    return account.headers


def test_every_operation_conforms_to_the_schema(base_url: str, super_admin: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: dict[str, str] = {}
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        tried += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,  # the same examples on every CI run: stable, reproducible
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=base_url, headers=super_admin, checks=CHECKS)

        try:
            check()
        except Exception as failure:
            failures[operation.label] = str(failure)[:2000]
    assert tried >= 18
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
