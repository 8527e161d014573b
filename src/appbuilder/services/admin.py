"""What admins may do beyond their own rows: find users, read any project, see platform
figures; and what only super admins may do: change a user's role or tier by hand."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from appbuilder.db.models import Generation, User
from appbuilder.db.types import utcnow
from appbuilder.enums import AgentType, SubscriptionTier, UserRole
from appbuilder.errors import ConflictError, PermissionDeniedError
from appbuilder.services.pagination import Page, PageRequest, SortKey, paginate, to_page
from appbuilder.services.quotas import month_start
from appbuilder.services.summary import DatabaseSummary, summarise
from appbuilder.services.users import get_user, other_super_admins

USERS_NEWEST_FIRST = SortKey(User.created_at, User.id, descending=True)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_users(
    session: Session,
    page: PageRequest,
    *,
    query: str | None = None,
    role: UserRole | None = None,
    tier: SubscriptionTier | None = None,
) -> Page[User]:
    """Users newest first; ``query`` matches email or name, case-insensitively."""
    statement = select(User)
    if query:
        pattern = f"%{_like_escape(query.strip().lower())}%"
        statement = statement.where(
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.name).like(pattern, escape="\\"),
            )
        )
    if role is not None:
        statement = statement.where(User.role == role)
    if tier is not None:
        statement = statement.where(User.subscription_tier == tier)
    rows = session.scalars(paginate(statement, USERS_NEWEST_FIRST, page)).all()
    return to_page(rows, page, USERS_NEWEST_FIRST)


@dataclass(frozen=True)
class PlatformUsage:
    totals: DatabaseSummary
    generations_this_month: int
    tokens_this_month: int


def platform_usage(session: Session) -> PlatformUsage:
    runs, tokens = session.execute(
        select(
            func.count().filter(Generation.agent_type == AgentType.ORCHESTRATOR),
            func.coalesce(func.sum(Generation.tokens_used), 0),
        ).where(Generation.created_at >= month_start())
    ).one()
    return PlatformUsage(
        totals=summarise(session), generations_this_month=runs, tokens_this_month=int(tokens)
    )


def set_role_and_tier(
    session: Session,
    actor: User,
    user_id: str,
    *,
    role: UserRole | None = None,
    tier: SubscriptionTier | None = None,
) -> User:
    """Super admins only. Nobody changes their own role here (no raising oneself, and no
    accidental self-demotion); the last super admin cannot be demoted."""
    if actor.role is not UserRole.SUPER_ADMIN:
        raise PermissionDeniedError("Only a super admin can change roles and tiers.")
    target = get_user(session, user_id)
    if role is not None and role is not target.role:
        if target.id == actor.id:
            raise PermissionDeniedError("You cannot change your own role.")
        if target.role is UserRole.SUPER_ADMIN and not other_super_admins(session, target.id):
            raise ConflictError("This is the last super admin; promote another one first.")
        target.role = role
    if tier is not None:
        _grant(target, actor, tier)
    session.flush()
    return target


def _grant(target: User, actor: User, tier: SubscriptionTier) -> None:
    """A tier without Stripe, recorded with who and when. It holds (a past-due grace
    no longer counts down) until a newer Stripe event for the user says otherwise."""
    target.subscription_tier = tier
    target.subscription_grace_ends_at = None
    target.tier_granted_by_id = actor.id
    target.tier_granted_at = utcnow()
