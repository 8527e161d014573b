"""Small builders for rows, so tests state only what they care about."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from appbuilder.db.models import Generation, GenerationRun, Project, User
from appbuilder.db.types import utcnow
from appbuilder.enums import AgentType, ProjectStatus, ProjectTemplate, RunStatus
from appbuilder.services.runs import events

_seq = itertools.count(1)
# A cheap, valid bcrypt hash: factories must not pay bcrypt's cost for every user.
PASSWORD_HASH = "$2b$04$y44UejKBkMaMdW2X4dw40eZ3/hmbMdPoPGCB4rSS7CurQGmc9WtQO"  # "x"


def make_user(session: Session, **overrides: Any) -> User:
    fields: dict[str, Any] = {
        "email": f"user{next(_seq)}@example.com",
        "password_hash": PASSWORD_HASH,
    }
    fields.update(overrides)
    user = User(**fields)
    session.add(user)
    session.flush()
    return user


def make_project(session: Session, user: User, **overrides: Any) -> Project:
    fields: dict[str, Any] = {
        "name": f"Project {next(_seq)}",
        "template": ProjectTemplate.BLOG,
        "config": {},
    }
    fields.update(overrides)
    project = Project(user_id=user.id, **fields)
    session.add(project)
    session.flush()
    return project


def make_generation(session: Session, project: Project, **overrides: Any) -> Generation:
    fields: dict[str, Any] = {
        "agent_type": AgentType.BACKEND,
        "prompt": "build the backend",
        "response": "",
    }
    fields.update(overrides)
    generation = Generation(project_id=project.id, user_id=project.user_id, **fields)
    session.add(generation)
    session.flush()
    return generation


def make_finished_run(
    session: Session,
    project_id: str,
    user_id: str,
    commit: str,
    said: list[tuple[str, dict[str, Any]]],
) -> str:
    """A completed run as a worker leaves one: its commit, and its events (``said``: kind
    and data of each) through ``finished``."""
    run = GenerationRun(
        project_id=project_id,
        user_id=user_id,
        status=RunStatus.COMPLETED,
        previous_status=ProjectStatus.DRAFT,
        spec={},
        spec_hash="0" * 64,
        commit_sha=commit,
        finished_at=utcnow(),
    )
    session.add(run)
    session.flush()
    for kind, data in said:
        events.append(session, run.id, kind, **data)
    events.append(session, run.id, events.FINISHED, status="COMPLETED")
    return run.id


def spaced_times(count: int, start: datetime | None = None) -> list[datetime]:
    """Distinct, increasing timestamps: ordering tests must not depend on clock resolution."""
    origin = start or utcnow() - timedelta(days=1)
    return [origin + timedelta(seconds=i) for i in range(count)]
