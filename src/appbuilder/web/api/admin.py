"""Platform administration: ADMIN reads users and figures; SUPER_ADMIN changes roles and tiers."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from appbuilder.enums import SubscriptionTier, UserRole
from appbuilder.rules import MAX_SEARCH_LENGTH, Text
from appbuilder.security.scopes import Scope
from appbuilder.services import admin
from appbuilder.services.auth import Principal
from appbuilder.services.billing.state import billing_state
from appbuilder.services.pagination import DEFAULT_PAGE_SIZE, PageRequest
from appbuilder.services.users import get_user
from appbuilder.web.billing_schemas import BillingOut
from appbuilder.web.deps import SessionDep, SettingsDep, require
from appbuilder.web.errors import AUTH_RESPONSES, CONFLICT, NOT_FOUND, merge
from appbuilder.web.params import Cursor, Limit, RowId
from appbuilder.web.schemas import Page, PlatformUsageOut, UserAdminPatch, UserOut

Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    responses=AUTH_RESPONSES,
    dependencies=[Depends(require(Scope.ADMIN))],
)
UserId = RowId


@router.get("/users", response_model=Page[UserOut])
def list_users(
    session: SessionDep,
    q: Annotated[
        Text | None, Query(max_length=MAX_SEARCH_LENGTH, description="Part of email or name")
    ] = None,
    role: UserRole | None = None,
    tier: SubscriptionTier | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[UserOut]:
    """Find users by email or name, role and tier; newest first."""
    page = admin.search_users(
        session, PageRequest(limit=limit, cursor=cursor), query=q, role=role, tier=tier
    )
    return Page[UserOut].of(page)


@router.get("/users/{user_id}", response_model=UserOut, responses=NOT_FOUND)
def read_user(user_id: UserId, session: SessionDep) -> UserOut:
    """One user's account."""
    return UserOut.model_validate(get_user(session, user_id))


@router.get("/users/{user_id}/billing", response_model=BillingOut, responses=NOT_FOUND)
def read_user_billing(user_id: UserId, session: SessionDep, settings: SettingsDep) -> BillingOut:
    """One user's billing: tier, the tier whose limits hold, status, dates, grant, usage."""
    return BillingOut.of(billing_state(session, get_user(session, user_id), settings.billing))


@router.patch("/users/{user_id}", response_model=UserOut, responses=merge(NOT_FOUND, CONFLICT))
def change_user(
    user_id: UserId, body: UserAdminPatch, principal: Admin, session: SessionDep
) -> UserOut:
    """SUPER_ADMIN only: set a user's role and/or tier (not your own role); a tier set here
    is recorded as granted by you, now, and holds until a newer Stripe event."""
    user = admin.set_role_and_tier(
        session, principal.user, user_id, role=body.role, tier=body.subscription_tier
    )
    return UserOut.model_validate(user)


@router.get("/usage", response_model=PlatformUsageOut)
def platform_usage(session: SessionDep) -> PlatformUsageOut:
    """Platform-wide figures: rows, users per tier and role, projects per status, this month."""
    figures = admin.platform_usage(session)
    return PlatformUsageOut(
        **asdict(figures.totals),
        generations_this_month=figures.generations_this_month,
        tokens_this_month=figures.tokens_this_month,
    )
