"""A short account of what the database holds, for ``uab db status`` and the run command."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from appbuilder.db.models import ApiKey, Deployment, Generation, Project, User
from appbuilder.enums import AgentType, ProjectStatus, ProjectTemplate, SubscriptionTier, UserRole


@dataclass(frozen=True)
class DatabaseSummary:
    table_rows: dict[str, int]
    users_by_tier: dict[str, int]
    users_by_role: dict[str, int]
    projects_by_status: dict[str, int]
    projects_by_template: dict[str, int]
    generations_by_agent: dict[str, int]


def summarise(session: Session) -> DatabaseSummary:
    counts = {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in (User, Project, Generation, ApiKey, Deployment)
    }
    return DatabaseSummary(
        table_rows=counts,
        users_by_tier=_grouped(session, User.subscription_tier, SubscriptionTier),
        users_by_role=_grouped(session, User.role, UserRole),
        projects_by_status=_grouped(session, Project.status, ProjectStatus),
        projects_by_template=_grouped(session, Project.template, ProjectTemplate),
        generations_by_agent=_grouped(session, Generation.agent_type, AgentType),
    )


def _grouped(
    session: Session, column: InstrumentedAttribute[Any], members: type[StrEnum]
) -> dict[str, int]:
    """Counts per enum member in declaration order (the same on both databases), zeros kept."""
    rows = session.execute(select(column, func.count()).group_by(column)).all()
    counts: dict[Any, int] = {value: count for value, count in rows}
    return {member.value: counts.get(member, 0) for member in members}
