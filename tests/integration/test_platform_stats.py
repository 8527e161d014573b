"""The admin page's platform figures: runs per UTC day, failure rate, tokens and cost per
agent, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from appbuilder.db.models import GenerationRun
from appbuilder.enums import AgentType, ProjectStatus, RunStatus
from appbuilder.services.platform_stats import platform_stats
from tests.factories import make_generation, make_project, make_user

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _run(session: Session, project_id: str, user_id: str, when: datetime, **fields: object) -> None:
    session.add(
        GenerationRun(
            project_id=project_id,
            user_id=user_id,
            previous_status=ProjectStatus.DRAFT,
            spec={},
            spec_hash="0" * 64,
            created_at=when,
            **fields,
        )
    )


def test_runs_per_day_failure_rate_and_agent_spend(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # days are UTC days whatever the connection's zone (late evening UTC is tomorrow here)
        session.execute(text("SET TIME ZONE 'Asia/Tokyo'"))
    user = make_user(session)
    project = make_project(session, user)
    late_yesterday = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    for when, status, platform in [
        (NOW - timedelta(hours=1), RunStatus.COMPLETED, False),
        (NOW - timedelta(hours=2), RunStatus.FAILED, True),
        (NOW - timedelta(hours=3), RunStatus.CANCELLED, False),
        (late_yesterday, RunStatus.COMPLETED, False),
        (late_yesterday, RunStatus.FAILED, False),
        (NOW - timedelta(days=20), RunStatus.FAILED, False),  # outside the window
    ]:
        _run(session, project.id, user.id, when, status=status, platform_failure=platform)
    recent = NOW - timedelta(hours=1)
    for agent, tokens, cost, model in [
        (AgentType.BACKEND, 1200, Decimal("0.012"), "gpt-4o-mini"),
        (AgentType.BACKEND, 800, None, "mystery-model"),
        (AgentType.ORCHESTRATOR, 300, Decimal("0.003"), "gpt-4o-mini"),
        (AgentType.FRONTEND, 0, None, None),  # a step row: not a call
    ]:
        make_generation(
            session,
            project,
            agent_type=agent,
            tokens_used=tokens,
            cost_usd=cost,
            model=model,
            created_at=recent,
        )
    make_generation(
        session,
        project,
        agent_type=AgentType.AUTH,
        tokens_used=999,
        model="gpt-4o-mini",
        created_at=NOW - timedelta(days=30),
    )
    session.flush()

    stats = platform_stats(session, days=14, now=NOW)

    assert stats.since == datetime(2026, 2, 25, tzinfo=UTC)
    assert (stats.days[0].day, stats.days[-1].day) == (date(2026, 2, 25), date(2026, 3, 10))
    by_day = {d.day: (d.started, d.completed, d.failed) for d in stats.days}
    assert by_day[date(2026, 3, 10)] == (3, 1, 1)
    assert by_day[date(2026, 3, 9)] == (2, 1, 1)
    assert sum(d.started for d in stats.days) == 5
    assert (stats.completed, stats.failed, stats.platform_failures) == (2, 2, 1)
    assert stats.failure_rate == 0.5
    spend = {
        s.agent: (s.calls, s.tokens, s.cost_usd, s.calls_of_unknown_cost) for s in stats.agents
    }
    assert spend == {
        AgentType.BACKEND: (2, 2000, Decimal("0.012"), 1),
        AgentType.ORCHESTRATOR: (1, 300, Decimal("0.003"), 0),
    }
    assert [s.agent for s in stats.agents] == [AgentType.BACKEND, AgentType.ORCHESTRATOR]


def test_an_empty_window(session: Session) -> None:
    stats = platform_stats(session, days=3, now=NOW)
    assert [(d.started, d.completed, d.failed) for d in stats.days] == [(0, 0, 0)] * 3
    assert stats.failure_rate is None
    assert stats.agents == []
