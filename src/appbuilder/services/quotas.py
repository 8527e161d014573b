"""Tier quotas: one table, enforced here in the service layer so every interface (API,
CLI, jobs) obeys the same limits.

A "generation" for quota purposes is one run charged to the user: every run except those
CANCELLED and those FAILED because of the platform (``platform_failure``: the queue gave up,
git failed). A run that failed because of the app it was asked to build (a step refused the
spec, the app's own tests failed) is charged: it used the workers like a successful one.
"At once" counts the user's queued and running runs; tokens are the sum over every
Generation row (each token is on exactly one row: a run's model calls have rows of their
own, its step rows hold none). Months are UTC calendar months.

Model calls are checked before they are made, reserving their worst case (what is sent
plus the most the model may answer): against the month's tokens (``ensure_tokens_available``)
and, inside a run, against the run's budget (``ensure_run_budget``: the lower of the
tier's ``tokens_per_run`` and ``UAB_LLM_RUN_TOKEN_BUDGET``). The provider's usage, recorded
after the call, is what counts from then on.

The limits that hold are those of the user's *effective* tier: their tier, except that a
subscription past due (a failed payment) falls to FREE's limits once its grace period
ends. Nothing is deleted on a downgrade: projects over the limit stay readable, and what
would add to the excess (a new project, a new run) is refused with a 402 naming the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from appbuilder.db.models import Deployment, Generation, GenerationRun, Project, User
from appbuilder.db.reads import Read, Steps, run_steps
from appbuilder.db.types import utcnow
from appbuilder.enums import (
    ACTIVE_RUN_STATUSES,
    LIVE_DEPLOYMENT_STATUSES,
    ProjectTemplate,
    RunStatus,
    SubscriptionStatus,
    SubscriptionTier,
)
from appbuilder.errors import ConcurrencyLimitError, QuotaExceededError, RunBudgetSpent

ALL_TEMPLATES = frozenset(ProjectTemplate)
DEPLOY_TARGETS = ("git", "local", "docker", "ssh", "kubernetes")
TIER_ORDER = (
    SubscriptionTier.FREE,
    SubscriptionTier.STARTER,
    SubscriptionTier.PRO,
    SubscriptionTier.ENTERPRISE,
)


@dataclass(frozen=True)
class TierLimits:
    """``None`` means unlimited."""

    projects: int | None
    generations_per_month: int | None
    tokens_per_month: int | None
    templates: frozenset[ProjectTemplate]
    deploy_targets: frozenset[str]
    concurrent_generations: int | None
    #: the most tokens one run's model calls may take
    tokens_per_run: int | None = None
    #: apps running at once on the platform (local deployments)
    live_deployments: int | None = None


TIER_LIMITS: dict[SubscriptionTier, TierLimits] = {
    SubscriptionTier.FREE: TierLimits(
        projects=3,
        generations_per_month=20,
        tokens_per_month=100_000,
        templates=frozenset({ProjectTemplate.BLOG, ProjectTemplate.API, ProjectTemplate.CUSTOM}),
        deploy_targets=frozenset({"git", "local"}),
        concurrent_generations=1,
        tokens_per_run=50_000,
        live_deployments=1,
    ),
    SubscriptionTier.STARTER: TierLimits(
        projects=10,
        generations_per_month=200,
        tokens_per_month=1_000_000,
        templates=ALL_TEMPLATES - {ProjectTemplate.ECOMMERCE},
        deploy_targets=frozenset({"git", "local", "docker"}),
        concurrent_generations=2,
        tokens_per_run=200_000,
        live_deployments=3,
    ),
    SubscriptionTier.PRO: TierLimits(
        projects=50,
        generations_per_month=2_000,
        tokens_per_month=10_000_000,
        templates=ALL_TEMPLATES,
        deploy_targets=frozenset({"git", "local", "docker", "ssh"}),
        concurrent_generations=4,
        tokens_per_run=1_000_000,
        live_deployments=10,
    ),
    SubscriptionTier.ENTERPRISE: TierLimits(
        projects=None,
        generations_per_month=None,
        tokens_per_month=None,
        templates=ALL_TEMPLATES,
        deploy_targets=frozenset(DEPLOY_TARGETS),
        concurrent_generations=None,
        tokens_per_run=None,
    ),
}

COUNTED_LIMITS = (
    "projects",
    "generations_per_month",
    "tokens_per_month",
    "concurrent_generations",
    "live_deployments",
)


@dataclass(frozen=True)
class UsageLine:
    limit: str
    used: int
    allowed: int | None


@dataclass(frozen=True)
class Usage:
    tier: SubscriptionTier
    period_start: datetime
    lines: list[UsageLine]
    templates: frozenset[ProjectTemplate]
    deploy_targets: frozenset[str]
    #: USD spent on model calls this month (calls of unknown price not included) and how
    #: many calls had an unknown price
    cost_usd: Decimal = Decimal(0)
    calls_of_unknown_cost: int = 0


class Subscriber(Protocol):
    """What the limits in force depend on: a ``User``, or only these columns of its row
    (``locked_subscriber``, before each model call)."""

    @property
    def id(self) -> str: ...
    @property
    def subscription_tier(self) -> SubscriptionTier: ...
    @property
    def subscription_status(self) -> str | None: ...
    @property
    def subscription_grace_ends_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class SubscriberRow:
    id: str
    subscription_tier: SubscriptionTier
    subscription_status: str | None
    subscription_grace_ends_at: datetime | None


def effective_tier(user: Subscriber, now: datetime | None = None) -> SubscriptionTier:
    """The tier whose limits hold now (see the module's docstring)."""
    if _grace_over(user, now):
        return SubscriptionTier.FREE
    return user.subscription_tier


def _grace_over(user: Subscriber, now: datetime | None = None) -> bool:
    ends = user.subscription_grace_ends_at
    past_due = user.subscription_status == SubscriptionStatus.PAST_DUE
    return past_due and ends is not None and (now or utcnow()) >= ends


def limits_for(user: Subscriber) -> TierLimits:
    return TIER_LIMITS[effective_tier(user)]


def month_start(now: datetime | None = None) -> datetime:
    now = now or utcnow()
    return datetime(now.year, now.month, 1, tzinfo=UTC)


def _charged(since: ColumnElement[datetime]) -> ColumnElement[bool]:
    """Runs of this month that count against the quota (see the module's docstring)."""
    return and_(
        GenerationRun.created_at >= since,
        GenerationRun.status != RunStatus.CANCELLED,
        GenerationRun.platform_failure.is_(False),
        GenerationRun.rollback_of.is_(None),  # a rollback runs no agent
    )


# The usage report runs on every GET /api/usage, and some of these before every run or
# model call: built once, with the user and the month as bound parameters (building and
# keying a statement cost more CPU than executing it, issue 16).
_USER: BindParameter[str] = bindparam("user_id")
_SINCE: BindParameter[datetime] = bindparam("since")
_PROJECT_COUNT = select(func.count()).where(Project.user_id == _USER)
_RUN_COUNTS = select(
    func.count().filter(_charged(_SINCE)),
    # not IN (...): a list's IN is expanded per execution, which a statement compiled once
    # for the async driver (db.async_reads) cannot be
    func.count().filter(or_(*(GenerationRun.status == s for s in ACTIVE_RUN_STATUSES))),
).where(GenerationRun.user_id == _USER)
_LIVE_APPS = (
    select(func.count(func.distinct(Deployment.project_id)))
    .join(Project, Deployment.project_id == Project.id)
    .where(
        Project.user_id == _USER,
        Deployment.target == "local",
        or_(*(Deployment.status == s for s in LIVE_DEPLOYMENT_STATUSES)),
    )
)
_LIVE_APPS_BUT_ONE = _LIVE_APPS.where(Project.id != bindparam("except_project"))
_TOKENS_USED = select(func.coalesce(func.sum(Generation.tokens_used), 0)).where(
    Generation.user_id == _USER, Generation.created_at >= _SINCE
)
_MODEL_COSTS = select(
    func.coalesce(func.sum(Generation.cost_usd), 0),
    func.count().filter(Generation.model.is_not(None), Generation.cost_usd.is_(None)),
).where(Generation.user_id == _USER, Generation.created_at >= _SINCE)


def _project_count(session: Session, user_id: str) -> int:
    return session.scalar(_PROJECT_COUNT, {"user_id": user_id}) or 0


def _counted_usage(session: Session, user_id: str) -> dict[str, int]:
    return run_steps(session, _counted_steps(user_id))


def _counted_steps(user_id: str) -> Steps[dict[str, int]]:
    since = month_start()
    projects = yield Read(_PROJECT_COUNT, {"user_id": user_id})
    run_counts = yield Read(_RUN_COUNTS, {"user_id": user_id, "since": since})
    tokens = yield Read(_TOKENS_USED, {"user_id": user_id, "since": since})
    runs, running = run_counts[0]
    return {
        "projects": projects[0][0] or 0,
        "generations_per_month": runs or 0,
        "tokens_per_month": int(tokens[0][0] or 0),
        "concurrent_generations": running or 0,
    }


def live_apps(session: Session, user_id: str, *, except_project: str | None = None) -> int:
    """Projects with an app running here, or being deployed (a redeploy's two processes
    count as one); ``except_project``: a redeploy replaces its own."""
    if except_project is None:
        return session.scalar(_LIVE_APPS, {"user_id": user_id}) or 0
    values = {"user_id": user_id, "except_project": except_project}
    return session.scalar(_LIVE_APPS_BUT_ONE, values) or 0


def _tokens_used(session: Session, user_id: str, since: datetime) -> int:
    tokens = session.scalar(_TOKENS_USED, {"user_id": user_id, "since": since})
    return int(tokens or 0)


def usage(session: Session, user: Subscriber) -> Usage:
    return run_steps(session, usage_steps(user))


def usage_steps(user: Subscriber) -> Steps[Usage]:
    """The usage report as steps (``db.reads``): five statements."""
    limits = limits_for(user)
    used = yield from _counted_steps(user.id)
    # the apps and the costs only here: starting a run (the other caller) does not need them
    apps = yield Read(_LIVE_APPS, {"user_id": user.id})
    costs = yield Read(_MODEL_COSTS, {"user_id": user.id, "since": month_start()})
    used["live_deployments"] = apps[0][0] or 0
    known, unknown = costs[0]
    return Usage(
        tier=effective_tier(user),
        period_start=month_start(),
        lines=[UsageLine(name, used[name], getattr(limits, name)) for name in COUNTED_LIMITS],
        templates=limits.templates,
        deploy_targets=limits.deploy_targets,
        cost_usd=Decimal(known or 0),
        calls_of_unknown_cost=int(unknown or 0),
    )


def ensure_tokens_available(session: Session, user: Subscriber, needed: int) -> None:
    """402 before a model call that could take the month's tokens over the tier's quota
    (``needed``: the worst case of the call, what is sent plus the most it may answer)."""
    # before every model call: one query, not the whole usage report (four)
    allowed = limits_for(user).tokens_per_month
    if allowed is None:
        return
    used = _tokens_used(session, user.id, month_start())
    if used + needed > allowed:
        _refuse(user, "tokens_per_month", used, allowed, used + needed)


def run_token_budget(user: Subscriber, configured: int | None) -> int | None:
    """The most tokens one of ``user``'s runs may spend: the lower of the tier's limit and
    the operator's setting (None: unlimited)."""
    limits = [b for b in (limits_for(user).tokens_per_run, configured) if b]
    return min(limits, default=None)


def ensure_run_budget(run_id: str, budget: int | None, used: int, needed: int) -> None:
    """Refuse a run's next model call when its worst case (``needed``) could take the
    run's tokens (``used`` so far) past ``budget``."""
    if budget is not None and used + needed > budget:
        raise RunBudgetSpent(
            f"The run's token budget of {budget} spent: {used} used, and the next model "
            f"call could take up to {needed} more. Raise UAB_LLM_RUN_TOKEN_BUDGET (or the "
            "plan) to let runs spend more.",
            limit="tokens_per_run",
            used=used,
            allowed=budget,
            run_id=run_id,
        )


def lowest_tier_lifting(limit: str, needed: int | ProjectTemplate | str) -> SubscriptionTier | None:
    """The cheapest tier where ``needed`` (a count to reach, or a template/target) fits."""
    for tier in TIER_ORDER:
        allowed = getattr(TIER_LIMITS[tier], limit)
        if isinstance(needed, int):
            if allowed is None or needed <= allowed:
                return tier
        elif needed in allowed:
            return tier
    return None


def _refuse(user: Subscriber, limit: str, used: int | str, allowed: object, needed: object) -> None:
    upgrade = lowest_tier_lifting(limit, needed)  # type: ignore[arg-type]
    hint = f" Upgrade to {upgrade.value} to lift it." if upgrade else ""
    error = QuotaExceededError
    if limit == "concurrent_generations":
        error = ConcurrencyLimitError
        hint = " Wait for one to finish or cancel it." + hint
    tier = effective_tier(user)
    plan = f"Your {tier.value} plan allows"
    if _grace_over(user):
        hint = " Update your payment method to restore your plan." + hint
        plan = f"Your payment is past due, so the {tier.value} plan's limits apply:"
    raise error(
        f"{plan} {_describe(limit, allowed)}.{hint}",
        limit=limit,
        used=used,
        allowed=sorted(allowed) if isinstance(allowed, frozenset) else allowed,
        tier=tier.value,
        upgrade_to=upgrade.value if upgrade else None,
    )


def _describe(limit: str, allowed: object) -> str:
    if isinstance(allowed, frozenset):
        return f"{limit.replace('_', ' ')}: {', '.join(sorted(allowed))}"
    if limit == "concurrent_generations":
        return f"{allowed} run{'' if allowed == 1 else 's'} at once"
    if limit == "live_deployments":
        return f"{allowed} running app{'' if allowed == 1 else 's'} at once"
    return f"{allowed} {limit.replace('_', ' ')}"


def lock_user(session: Session, user: User) -> None:
    """Serialise quota checks per user: without it, parallel requests all pass the same
    count and then all insert (PostgreSQL; SQLite writers are serialised already)."""
    locked_user(session, user.id)


def locked_user(session: Session, user_id: str) -> User:
    """``user_id``'s row, read and locked (see ``lock_user``) in one statement."""
    return session.execute(select(User).where(User.id == user_id).with_for_update()).scalar_one()


_SUBSCRIBER_LOCKED = (
    select(
        User.id, User.subscription_tier, User.subscription_status, User.subscription_grace_ends_at
    )
    .where(User.id == _USER)
    .with_for_update()
)


def locked_subscriber(session: Session, user_id: str) -> SubscriberRow:
    """``locked_user`` for the quota checks before each model call: only the columns the
    limits depend on, in a prebuilt statement on the session's connection (no entity to
    build; the whole row, its encrypted model key included, cost ~4x more)."""
    row = session.connection().execute(_SUBSCRIBER_LOCKED, {"user_id": user_id}).one()
    return SubscriberRow(*row)


def ensure_can_create_project(session: Session, user: User, template: ProjectTemplate) -> None:
    lock_user(session, user)
    limits = limits_for(user)
    if template not in limits.templates:
        _refuse(user, "templates", template.value, limits.templates, template)
    if limits.projects is not None:
        count = _project_count(session, user.id)
        if count >= limits.projects:
            _refuse(user, "projects", count, limits.projects, count + 1)


def ensure_can_start_generation(
    session: Session, user: User, template: ProjectTemplate | None = None
) -> None:
    """Runs per month, tokens per month, runs at once; and, after a downgrade, projects
    over the tier's count or of a template it lacks get no new runs (they stay readable)."""
    lock_user(session, user)
    limits = limits_for(user)
    used = _counted_usage(session, user.id)
    if template is not None and template not in limits.templates:
        _refuse(user, "templates", template.value, limits.templates, template)
    if limits.projects is not None and used["projects"] > limits.projects:
        _refuse(user, "projects", used["projects"], limits.projects, used["projects"])
    for name in ("generations_per_month", "tokens_per_month", "concurrent_generations"):
        allowed = getattr(limits, name)
        if allowed is not None and used[name] >= allowed:
            _refuse(user, name, used[name], allowed, used[name] + 1)


def ensure_deploy_target_allowed(user: User, target: str) -> None:
    limits = limits_for(user)
    if target not in limits.deploy_targets:
        _refuse(user, "deploy_targets", target, limits.deploy_targets, target)


def ensure_live_deployment_allowed(session: Session, user: User, running: int) -> None:
    """One more app running at once (``running``: the user's other live deployments), by
    the limits in force: a past-due plan beyond its grace has FREE's."""
    lock_user(session, user)
    allowed = limits_for(user).live_deployments
    if allowed is not None and running >= allowed:
        _refuse(user, "live_deployments", running, allowed, running + 1)
