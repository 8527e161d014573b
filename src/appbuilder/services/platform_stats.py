"""Platform figures for admins over a recent window: runs per day, how many failed, and
what each agent's model calls took in tokens and money.

Days are UTC calendar days whatever the database session's time zone, and every day of
the window is listed (a quiet day shows zeros rather than vanishing from the chart).
Tokens and cost are summed over call rows only (see services/runs/ledger: each token is on
exactly one row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, SQLColumnExpression, func, select
from sqlalchemy.orm import Session

from appbuilder.db.models import Generation, GenerationRun
from appbuilder.db.types import utcnow
from appbuilder.enums import AgentType, RunStatus
from appbuilder.services.call_rows import is_call

#: the window the admin page shows
STATS_DAYS = 14


@dataclass(frozen=True)
class DayRuns:
    day: date
    started: int
    completed: int
    failed: int


@dataclass(frozen=True)
class AgentSpend:
    agent: AgentType
    calls: int
    tokens: int
    cost_usd: Decimal
    #: calls whose model's price is unknown (not in ``cost_usd``)
    calls_of_unknown_cost: int


@dataclass(frozen=True)
class PlatformStats:
    since: datetime
    days: list[DayRuns]
    completed: int
    failed: int
    #: failed because of the platform, not the app (included in ``failed``)
    platform_failures: int
    agents: list[AgentSpend]

    @property
    def failure_rate(self) -> float | None:
        """Failed runs among those that ended (cancelled ones left out); None: none ended."""
        ended = self.completed + self.failed
        return self.failed / ended if ended else None


def _utc_day(session: Session, column: SQLColumnExpression[datetime]) -> ColumnElement[object]:
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite keeps naive UTC


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def platform_stats(
    session: Session, *, days: int = STATS_DAYS, now: datetime | None = None
) -> PlatformStats:
    """The last ``days`` UTC days, today included."""
    today = (now or utcnow()).astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    per_day = _runs_per_day(session, since)
    listed = [first + timedelta(days=i) for i in range(days)]
    day_rows = [per_day.get(d, DayRuns(d, 0, 0, 0)) for d in listed]
    completed, failed, platform = session.execute(
        select(
            func.count().filter(GenerationRun.status == RunStatus.COMPLETED),
            func.count().filter(GenerationRun.status == RunStatus.FAILED),
            func.count().filter(
                GenerationRun.status == RunStatus.FAILED, GenerationRun.platform_failure.is_(True)
            ),
        ).where(GenerationRun.created_at >= since)
    ).one()
    return PlatformStats(
        since=since,
        days=day_rows,
        completed=int(completed or 0),
        failed=int(failed or 0),
        platform_failures=int(platform or 0),
        agents=_agent_spend(session, since),
    )


def _runs_per_day(session: Session, since: datetime) -> dict[date, DayRuns]:
    day = _utc_day(session, GenerationRun.created_at).label("day")
    rows = session.execute(
        select(
            day,
            func.count(),
            func.count().filter(GenerationRun.status == RunStatus.COMPLETED),
            func.count().filter(GenerationRun.status == RunStatus.FAILED),
        )
        .where(GenerationRun.created_at >= since)
        .group_by(day)
    ).all()
    found = {}
    for value, started, completed, failed in rows:
        key = _as_date(value)
        found[key] = DayRuns(key, int(started), int(completed or 0), int(failed or 0))
    return found


def _agent_spend(session: Session, since: datetime) -> list[AgentSpend]:
    rows = session.execute(
        select(
            Generation.agent_type,
            func.count(),
            func.coalesce(func.sum(Generation.tokens_used), 0),
            func.coalesce(func.sum(Generation.cost_usd), 0),
            func.count().filter(Generation.cost_usd.is_(None)),
        )
        .where(is_call(), Generation.created_at >= since)
        .group_by(Generation.agent_type)
    ).all()
    spend = [
        AgentSpend(agent, int(calls), int(tokens), Decimal(cost or 0), int(unknown or 0))
        for agent, calls, tokens, cost, unknown in rows
    ]
    return sorted(spend, key=lambda s: (-s.tokens, s.agent.value))
