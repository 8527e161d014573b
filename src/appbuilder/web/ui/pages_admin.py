"""The admin page: platform figures (runs per day, failure rate, tokens and cost per
agent) and user search for ADMIN; SUPER_ADMIN also changes a user's role and tier,
through the same service as the API (nobody changes their own role; the last super
admin stays)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from appbuilder.enums import SubscriptionTier, UserRole
from appbuilder.errors import AppBuilderError, PermissionDeniedError, ValidationError
from appbuilder.rules import MAX_SEARCH_LENGTH
from appbuilder.security.scopes import Scope
from appbuilder.services import admin, platform_stats
from appbuilder.services.auth import Principal
from appbuilder.services.pagination import PageRequest
from appbuilder.web.deps import SessionDep
from appbuilder.web.errors import status_for
from appbuilder.web.params import Cursor, RowId
from appbuilder.web.schemas import UserAdminPatch
from appbuilder.web.ui.deps import UserDep, check_csrf, optional_principal
from appbuilder.web.ui.forms import FormInvalid, parse
from appbuilder.web.ui.render import redirect, render

router = APIRouter(
    prefix="/admin",
    include_in_schema=False,
    dependencies=[Depends(check_csrf), Depends(optional_principal)],
)
USERS_PER_PAGE = 25
Choice = TypeVar("Choice", bound=StrEnum)
Search = Annotated[str, Query(max_length=MAX_SEARCH_LENGTH)]


def _admin(principal: Principal) -> Principal:
    if not principal.has(Scope.ADMIN):
        raise PermissionDeniedError("This page is for platform admins.")
    return principal


def _choice(kind: type[Choice], field: str, value: str) -> Choice | None:
    """A search filter: empty is "any"; anything else must be one of the choices."""
    if not value:
        return None
    if value not in kind.__members__:
        allowed = ", ".join(kind.__members__)
        raise ValidationError(field, "enum", f"{field} must be one of {allowed}, or empty.")
    return kind(value)


def _context(
    session: SessionDep, principal: Principal, q: str, role: str, tier: str, cursor: str | None
) -> dict[str, Any]:
    stats = platform_stats.platform_stats(session)
    users = admin.search_users(
        session,
        PageRequest(limit=USERS_PER_PAGE, cursor=cursor),
        query=q.strip() or None,
        role=_choice(UserRole, "role", role),
        tier=_choice(SubscriptionTier, "tier", tier),
    )
    return {
        "stats": stats,
        "busiest": max((d.started for d in stats.days), default=0),
        "users": users,
        "search": {"q": q, "role": role, "tier": tier},
        "roles": list(UserRole),
        "tiers": list(SubscriptionTier),
        "can_edit": principal.user.role is UserRole.SUPER_ADMIN,
        "error": None,
        "page_title": "Admin",
    }


@router.get("")
def admin_page(
    request: Request,
    principal: UserDep,
    session: SessionDep,
    q: Search = "",
    role: Annotated[str, Query(max_length=20)] = "",
    tier: Annotated[str, Query(max_length=20)] = "",
    cursor: Cursor = None,
) -> Response:
    _admin(principal)
    return render(request, "admin.html", _context(session, principal, q, role, tier, cursor))


@router.post("/users/{user_id}")
def change_user(
    request: Request,
    user_id: RowId,
    principal: UserDep,
    session: SessionDep,
    role: Annotated[str, Form(max_length=20)] = "",
    tier: Annotated[str, Form(max_length=20)] = "",
    q: Annotated[str, Form(max_length=MAX_SEARCH_LENGTH)] = "",
) -> Response:
    _admin(principal)
    try:
        body = parse(UserAdminPatch, {"role": role or None, "subscription_tier": tier or None})
        changed = admin.set_role_and_tier(
            session, principal.user, user_id, role=body.role, tier=body.subscription_tier
        )
    except (FormInvalid, AppBuilderError) as exc:
        context = _context(session, principal, q, "", "", None)
        if isinstance(exc, FormInvalid):
            message, status = "; ".join(f"{k}: {v}" for k, v in exc.errors.items()), 422
        else:
            message, status = exc.message, status_for(exc)
        return render(request, "admin.html", {**context, "error": message}, status)
    target = "/admin?" + urlencode({"q": q or changed.email})
    label = changed.name or changed.email
    return redirect(
        target, f"{label} is now {changed.role.value} on {changed.subscription_tier.value}."
    )
