"""Tier quotas at each boundary: the last allowed project works, the next one is a 402
that names the limit, the usage and the lowest tier that lifts it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from appbuilder.db.models import Generation, GenerationRun, User
from appbuilder.db.session import make_session_factory, transaction
from appbuilder.db.types import utcnow
from appbuilder.enums import AgentType, ProjectStatus, SubscriptionTier
from appbuilder.errors import QuotaExceededError
from appbuilder.services.quotas import TIER_LIMITS, ensure_can_start_generation
from tests.integration.api.conftest import Api

NEXT_TIER = {
    SubscriptionTier.FREE: "STARTER",
    SubscriptionTier.STARTER: "PRO",
    SubscriptionTier.PRO: "ENTERPRISE",
}


@pytest.mark.parametrize("tier", list(NEXT_TIER))
def test_project_limit_boundary(api: Api, tier: SubscriptionTier) -> None:
    owner = api.account(tier=tier)
    limit = TIER_LIMITS[tier].projects
    assert limit is not None
    for i in range(limit):
        api.project(owner, name=f"p{i}", template="BLOG")
    refused = api.post(
        "/api/projects", json={"name": "one too many", "template": "BLOG"}, headers=owner.headers
    )
    assert refused.status_code == 402
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"] == {
        "limit": "projects",
        "used": limit,
        "allowed": limit,
        "tier": tier.value,
        "upgrade_to": NEXT_TIER[tier],
    }
    assert f"Upgrade to {NEXT_TIER[tier]}" in error["message"]
    # deleting one frees a slot
    first = api.get("/api/projects?limit=1", headers=owner.headers).json()["items"][0]["id"]
    assert api.delete(f"/api/projects/{first}", headers=owner.headers).status_code == 204
    api.project(owner, name="fits again", template="BLOG")


def test_enterprise_has_no_project_limit(api: Api) -> None:
    owner = api.account(tier=SubscriptionTier.ENTERPRISE)
    beyond_pro = (TIER_LIMITS[SubscriptionTier.PRO].projects or 0) + 1
    for i in range(beyond_pro):
        api.project(owner, name=f"p{i}")
    usage = api.get("/api/usage", headers=owner.headers).json()
    assert {"limit": "projects", "used": beyond_pro, "allowed": None} in usage["limits"]


@pytest.mark.parametrize(
    ("tier", "template", "allowed", "upgrade_to"),
    [
        (SubscriptionTier.FREE, "SAAS", False, "STARTER"),
        (SubscriptionTier.FREE, "ECOMMERCE", False, "PRO"),
        (SubscriptionTier.STARTER, "ECOMMERCE", False, "PRO"),
        (SubscriptionTier.STARTER, "SAAS", True, None),
        (SubscriptionTier.PRO, "ECOMMERCE", True, None),
    ],
)
def test_templates_per_tier(
    api: Api, tier: SubscriptionTier, template: str, allowed: bool, upgrade_to: str | None
) -> None:
    owner = api.account(tier=tier)
    response = api.post(
        "/api/projects", json={"name": "x", "template": template}, headers=owner.headers
    )
    if allowed:
        assert response.status_code == 201
    else:
        assert response.status_code == 402
        details = response.json()["error"]["details"]
        assert (details["limit"], details["used"], details["upgrade_to"]) == (
            "templates",
            template,
            upgrade_to,
        )


def test_usage_reports_every_limit(api: Api, engine: Engine) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    project = api.project(owner)
    with transaction(make_session_factory(engine)) as session:
        for agent, tokens in ((AgentType.ORCHESTRATOR, 0), (AgentType.BACKEND, 1200)):
            session.add(
                Generation(
                    project_id=project["id"],
                    user_id=owner.id,
                    agent_type=agent,
                    prompt="p",
                    response="r",
                    tokens_used=tokens,
                )
            )
        session.add(
            GenerationRun(
                project_id=project["id"],
                user_id=owner.id,
                previous_status=ProjectStatus.DRAFT,
                spec={},
                spec_hash="0" * 64,
                # queued, but not before tomorrow: the server's embedded queue would take
                # it (and fail it, its spec being empty) before the usage is read
                not_before=utcnow() + timedelta(days=1),
            )
        )
    usage = api.get("/api/usage", headers=owner.headers).json()
    assert usage["tier"] == "FREE"
    assert {line["limit"]: (line["used"], line["allowed"]) for line in usage["limits"]} == {
        "projects": (1, 3),
        "generations_per_month": (1, 20),
        "tokens_per_month": (1200, 100_000),
        "concurrent_generations": (1, 1),
        "live_deployments": (0, 1),
    }
    assert usage["templates"] == ["BLOG", "API", "CUSTOM"]
    assert usage["deploy_targets"] == ["git", "local"]


def test_generation_quotas_are_enforced_in_the_service(api: Api, engine: Engine) -> None:
    """For the generation issue: a FREE user with a run in progress cannot start another."""
    owner = api.account(tier=SubscriptionTier.FREE)
    project = api.project(owner)
    started = api.post(
        f"/api/projects/{project['id']}/generate", json={"verify": True}, headers=owner.headers
    )
    assert started.status_code == 202
    with transaction(make_session_factory(engine)) as session:
        user = session.get(User, owner.id)
        assert user is not None
        with pytest.raises(QuotaExceededError) as caught:
            ensure_can_start_generation(session, user)
    assert caught.value.details["limit"] == "concurrent_generations"
    assert caught.value.details["upgrade_to"] == "STARTER"
